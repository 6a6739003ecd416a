package outbox

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/mapping"
)

// Which linked cases a poll's query names, and how (SPEC §11 "Poller").

// linkedChunk is how many linked Salesforce case ids one query names in
// its Id IN (…) list: about 6,600 characters of SOQL and 8 KB of URL,
// well inside Salesforce's 100,000-character statement and 16 KB URI (its
// 4,000-character WHERE limit is per string literal: one id here).
const linkedChunk = 300

// linkedFilter names linked cases in one poll query.
type linkedFilter struct {
	cond string // field != null, or Id IN (…)
	// field is the case external id field when cond names cases by it;
	// lapsed are linked cases recorded as carrying it whose Salesforce
	// record this query also reads if the field was cleared there
	// (see lapseChunk).
	field  string
	lapsed []string
}

// where is the query's WHERE: the cases cond names changed since since
// (a SOQL time), and the lapsed cases whose field is empty, whenever they
// changed.
func (f linkedFilter) where(since string) string {
	changed := "SystemModstamp >= " + since + " AND " + f.cond
	if len(f.lapsed) == 0 {
		return changed
	}
	return "(" + changed + ") OR (" + f.field + " = null AND " + idIn(f.lapsed) + ")"
}

// linkedFilters yields the conditions that name the linked cases, one
// query each.
//
// A case carebridge created by upsert carries its external key in the
// field the mapping upserted it by (care.SalesforceLink.ExternalIDField):
// while the mapping's case external id field is still that field, one
// condition on it (field != null) names every such case however many
// there are, and no Case of the org that carebridge did not create is
// read. A case that may not carry it (linked to an existing Salesforce
// case, created while the mapping had no external id field or another
// one, or linked by an older release, whose link does not say) is named
// by Id, in chunks of linkedChunk. Up to linkedChunk linked cases, or when
// the field's condition would not save a query, every case is named by
// Id: as many queries, and no Case carebridge created but no longer
// links is read.
//
// A Salesforce user may clear the field on a case (it is editable), which
// takes it out of field != null for good: lapsed, given the cases named by
// the field, picks those whose field the same query checks (nil: none).
func linkedFilters(m *mapping.Mapping, linked []care.LinkedSalesforceCase, lapsed func(carrying []string) []string) iter.Seq[linkedFilter] {
	return func(yield func(linkedFilter) bool) {
		field := caseExternalIDField(m)
		byID := make([]string, 0, len(linked))
		var carrying []string
		for _, l := range linked {
			if field == "" || !strings.EqualFold(l.ExternalIDField, field) {
				byID = append(byID, l.ID)
			} else {
				carrying = append(carrying, l.ID)
			}
		}
		if len(carrying) > 0 && len(linked) > linkedChunk && 1+chunks(len(byID)) <= chunks(len(linked)) {
			f := linkedFilter{cond: field + " != null", field: field}
			if lapsed != nil {
				f.lapsed = lapsed(carrying)
			}
			if !yield(f) {
				return
			}
		} else if len(carrying) > 0 {
			byID = byID[:0]
			for _, l := range linked {
				byID = append(byID, l.ID)
			}
		}
		for chunk := range slices.Chunk(byID, linkedChunk) {
			if !yield(linkedFilter{cond: idIn(chunk)}) {
				return
			}
		}
	}
}

// idIn is the condition Id IN (…) naming ids.
func idIn(ids []string) string {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = salesforce.QuoteSOQL(id)
	}
	return "Id IN (" + strings.Join(quoted, ", ") + ")"
}

// checkedKey keeps, in the poller's KV namespace, the case external id
// field checkCarried last asked Salesforce about.
const checkedKey = "linked_external_id_field_checked"

// checkCarried asks Salesforce, once per case external id field, which
// linked cases whose link does not say they carry that field do carry
// their Care case's external key in it, and records it on their links
// (care.SalesforceLink.ExternalIDField), so the field's one condition
// names them from then on. These are the cases an older release linked
// (its link says no field: by Id until checked) and cases under another
// field whose new one an admin filled with the keys. A case whose
// Salesforce record holds nothing in the field, or another value than its
// key, stays named by Id. It costs one query per linkedChunk such cases,
// once, and only where the field's condition can save queries (above
// linkedChunk linked cases). It returns linked with what it found.
func (p *Poller) checkCarried(ctx context.Context, client *salesforce.Client, m *mapping.Mapping,
	linked []care.LinkedSalesforceCase, res *PollResult) ([]care.LinkedSalesforceCase, error) {
	field := caseExternalIDField(m)
	if field == "" || len(linked) <= linkedChunk {
		return linked, nil
	}
	checked, err := p.kv.Get(ctx, checkedKey)
	if err != nil {
		return linked, fmt.Errorf("read the checked external id field: %w", err)
	}
	if string(checked) == field {
		return linked, nil
	}
	var ask []string
	for _, l := range linked {
		if !strings.EqualFold(l.ExternalIDField, field) {
			ask = append(ask, l.ID)
		}
	}
	carrying := map[string]bool{}
	for chunk := range slices.Chunk(ask, linkedChunk) {
		soql := fmt.Sprintf("SELECT Id, %s FROM %s WHERE %s != null AND %s", field, caseObject(m), field, idIn(chunk))
		err := client.QueryPages(ctx, soql, func(page *salesforce.QueryResult) error {
			p.budget.ObserveClient(client)
			res.Checks++
			for _, rec := range page.Records {
				c, err := p.store.CaseBySalesforceID(ctx, rec.ID())
				if care.IsNotFound(err) {
					continue // unlinked meanwhile
				}
				if err != nil {
					return err
				}
				if v := recordString(rec, field); v != "" && v == c.ExternalKey {
					carrying[rec.ID()] = true
				}
			}
			return nil
		})
		if err != nil {
			return linked, fmt.Errorf("ask which linked cases carry %s: %w", field, err)
		}
	}
	if len(carrying) > 0 {
		n, err := p.store.RecordSalesforceExternalIDField(ctx, field, slices.Sorted(maps.Keys(carrying)))
		if err != nil {
			return linked, fmt.Errorf("record the cases carrying %s: %w", field, err)
		}
		p.log.Info("outbox: poll: linked cases found carrying the case external id field; the poll names them by it",
			"field", field, "cases", n, "asked", len(ask))
		linked = slices.Clone(linked)
		for i, l := range linked {
			if carrying[l.ID] {
				linked[i].ExternalIDField = field
			}
		}
	}
	if err := p.kv.Put(ctx, checkedKey, []byte(field)); err != nil {
		return linked, fmt.Errorf("save the checked external id field: %w", err)
	}
	return linked, nil
}

// chunks is how many Id IN (…) queries name n cases.
func chunks(n int) int { return (n + linkedChunk - 1) / linkedChunk }

// caseExternalIDField is the mapping's case external id field, "" when it
// has none (or a name no query may hold).
func caseExternalIDField(m *mapping.Mapping) string {
	if m == nil || m.Case == nil || !apiName.MatchString(m.Case.ExternalIDField) {
		return ""
	}
	return m.Case.ExternalIDField
}
