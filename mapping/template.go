package mapping

import (
	"strings"
)

// tplToken is a piece of a template before its paths are resolved.
type tplToken struct {
	lit    string
	path   string
	offset int // byte offset of the placeholder's name (or literal) in the text
}

// tplError is a syntax error at a byte offset of a template.
type tplError struct {
	offset int
	msg    string
}

// lexTemplate splits s into literals and {path} placeholders. {{ and }}
// stand for literal braces. It reports every syntax error.
func lexTemplate(s string) ([]tplToken, []tplError) {
	var (
		toks []tplToken
		errs []tplError
		lit  strings.Builder
	)
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, tplToken{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "{{"):
			lit.WriteByte('{')
			i += 2
		case strings.HasPrefix(s[i:], "}}"):
			lit.WriteByte('}')
			i += 2
		case s[i] == '}':
			errs = append(errs, tplError{i, `unmatched "}" in template (write "}}" for a literal brace)`})
			i++
		case s[i] == '{':
			end := strings.IndexAny(s[i+1:], "{}")
			if end < 0 || s[i+1+end] == '{' {
				errs = append(errs, tplError{i, `unclosed "{" in template`})
				if end < 0 {
					return toks, errs
				}
				i += 1 + end
				continue
			}
			name := s[i+1 : i+1+end]
			if strings.TrimSpace(name) == "" {
				errs = append(errs, tplError{i, `empty "{}" in template`})
			} else {
				flush()
				toks = append(toks, tplToken{path: strings.TrimSpace(name), offset: i + 1 + (len(name) - len(strings.TrimLeft(name, " ")))})
			}
			i += end + 2
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	flush()
	return toks, errs
}

// render fills the template from e.
func (t *Template) render(e *env) string {
	if len(t.parts) == 1 && t.parts[0].path == nil {
		return t.parts[0].lit
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.path == nil {
			b.WriteString(p.lit)
			continue
		}
		b.WriteString(p.path.def.get(e).String())
	}
	return b.String()
}

// constant returns the template's text when it has no placeholders.
func (t *Template) constant() (string, bool) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.path != nil {
			return "", false
		}
		b.WriteString(p.lit)
	}
	return b.String(), true
}
