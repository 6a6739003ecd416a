package mapping

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
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

// String is the FILE:LINE:COL: message form.
func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Message)
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

// sortProblems orders problems by file position, then message, and drops
// exact duplicates (an aliased node is reported once).
func sortProblems(ps []Problem) []Problem {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col), cmp.Compare(a.Message, b.Message))
	})
	return slices.Compact(ps)
}

// problems collects problems for one file.
type problems struct {
	file string
	list []Problem
}

func (p *problems) add(pos Pos, format string, args ...any) {
	p.list = append(p.list, Problem{File: p.file, Line: max(pos.Line, 1), Col: max(pos.Col, 1), Message: fmt.Sprintf(format, args...)})
}
