package sfsim

import (
	"net/http"
	"regexp"
	"strings"
	"unicode"

	"github.com/carebridge/carebridge/connector/sfsim/soql"
)

// SOSL: FIND {term} [IN scope FIELDS] [RETURNING ...] [LIMIT n]. The
// simulator indexes at once (Salesforce may take seconds to minutes).

const searchLimit = 2000

func (s *Server) handleSearch(c *call) *response {
	src := c.query.Get("q")
	srch, err := soql.ParseSearch(src)
	if err != nil {
		return errResp(soqlError(src, err))
	}
	rows, serr := s.runSearch(src, srch, c.version)
	if serr != nil {
		return errResp(serr)
	}
	if c.vnum < 36 {
		// Before v36 the answer was a bare array (fixture
		// search_sosl_legacy_array_pre_v36.json).
		return jsonResp(http.StatusOK, rows)
	}
	return jsonResp(http.StatusOK, jobj{{"searchRecords", rows}})
}

// searchAlt is one alternative of a search term (alternatives are joined
// by OR); every word of it must match.
type searchAlt []*regexp.Regexp

func compileTerm(term string) []searchAlt {
	var alts []searchAlt
	var cur searchAlt
	flush := func() {
		if len(cur) > 0 {
			alts = append(alts, cur)
		}
		cur = nil
	}
	for _, word := range strings.Fields(strings.ReplaceAll(term, `"`, " ")) {
		switch word {
		case "OR":
			flush()
			continue
		case "AND":
			continue
		}
		for _, tok := range tokenize(word, true) {
			cur = append(cur, wordPattern(tok))
		}
	}
	flush()
	return alts
}

// tokenize splits text into lower-cased words of letters and digits
// (keeping * and ? in search terms).
func tokenize(text string, wild bool) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		if wild && (r == '*' || r == '?') {
			return false
		}
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

func wordPattern(tok string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range tok {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func searchFields(o *object, scope string) []*field {
	var out []*field
	switch scope {
	case "NAME":
		for _, n := range o.nameFields {
			if f := o.field(n); f != nil {
				out = append(out, f)
			}
		}
	default:
		for _, f := range o.Fields {
			switch {
			case scope == "EMAIL" && f.Type == typeEmail,
				scope == "PHONE" && f.Type == typePhone,
				(scope == "ALL" || scope == "SIDEBAR") && (f.Type == typeString || f.Type == typeTextarea || f.Type == typeEmail || f.Type == typePhone || f.Type == typeURL):
				out = append(out, f)
			}
		}
	}
	return out
}

func recordMatches(r *record, fields []*field, alts []searchAlt) bool {
	var words []string
	for _, f := range fields {
		if s, ok := r.vals[f.Name].(string); ok {
			words = append(words, tokenize(s, false)...)
		}
	}
	for _, alt := range alts {
		all := true
		for _, re := range alt {
			found := false
			for _, w := range words {
				if re.MatchString(w) {
					found = true
					break
				}
			}
			if !found {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (s *Server) runSearch(src string, srch *soql.Search, version string) ([]jobj, *Error) {
	alts := compileTerm(srch.Term)
	specs := srch.Returning
	if len(specs) == 0 {
		for _, o := range s.schema.objects {
			if o.Searchable {
				specs = append(specs, soql.Returning{Object: soql.ObjectRef{Name: o.Name}})
			}
		}
	}
	limit := searchLimit
	if srch.Limit != nil && srch.Limit.V < limit {
		limit = srch.Limit.V
	}
	rows := []jobj{}
	for _, spec := range specs {
		o := s.schema.object(spec.Object.Name)
		if o == nil || !o.Searchable {
			return nil, caretError(src, "INVALID_TYPE", spec.Object.Pos, invalidTypeMessage(spec.Object.Name))
		}
		b := &binder{s: s, src: src, obj: o}
		c := &compiled{src: src, obj: o, out: &outNode{}, limit: -1}
		if len(spec.Fields) == 0 {
			c.out.add(&path{objs: []*object{o}, leaf: o.field("Id")})
		}
		for _, f := range spec.Fields {
			p, err := b.bind(f)
			if err != nil {
				return nil, err
			}
			c.out.add(p)
		}
		if err := b.bindTail(c, spec.Where, spec.OrderBy, spec.Limit, spec.Offset); err != nil {
			return nil, err
		}
		fields := searchFields(o, srch.Scope)
		recs := s.matching(c, false, func(r *record) bool { return recordMatches(r, fields, alts) })
		for _, r := range recs {
			if len(rows) >= limit {
				return rows, nil
			}
			rows = append(rows, s.renderNode(c.out, r, version, false))
		}
	}
	return rows, nil
}
