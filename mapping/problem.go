package mapping

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/carebridge/carebridge/config/yamlsafe"
)

// Pos is a 1-based line and column in the mapping file.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"column"`
}

// Problem is one thing wrong with a mapping, at a place in its file.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"column"`
	Message string `json:"message"`
}

// String is the FILE:LINE:COL: message form, at most yamlsafe.MaxLine
// bytes.
func (p Problem) String() string {
	return yamlsafe.ClipLine(fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Message))
}

// ProblemsError is the error Parse returns for an invalid mapping: every
// problem found, sorted by position.
type ProblemsError struct {
	Problems []Problem
}

// Error joins the problems one per line.
func (e *ProblemsError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// MaxProblems bounds a report: past it the problems that follow in the
// file are summed up in one last problem.
const MaxProblems = 100

// sortProblems orders problems by file position, then message, drops
// exact duplicates (an aliased node is reported once) and keeps the first
// MaxProblems.
func sortProblems(ps []Problem) []Problem {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col), cmp.Compare(a.Message, b.Message))
	})
	ps = slices.Compact(ps)
	if len(ps) > MaxProblems {
		more := ps[MaxProblems]
		more.Message = fmt.Sprintf("%d more problems not shown; fix these first", len(ps)-MaxProblems)
		ps = append(ps[:MaxProblems:MaxProblems], more)
	}
	return ps
}

// problems collects problems for one file.
type problems struct {
	file string
	list []Problem
}

// add records a problem. Text arguments (names and values from the file)
// are clipped to yamlsafe.MaxQuote characters, so that a long key or
// value never makes a long line.
func (p *problems) add(pos Pos, format string, args ...any) {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = yamlsafe.Clip(s, yamlsafe.MaxQuote)
		}
	}
	p.addMessage(pos, fmt.Sprintf(format, args...))
}

// addMessage records a problem whose message names nothing from the file.
func (p *problems) addMessage(pos Pos, msg string) {
	p.list = append(p.list, Problem{File: p.file, Line: max(pos.Line, 1), Col: max(pos.Col, 1), Message: yamlsafe.ClipLine(msg)})
}
