package config

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/carebridge/carebridge/config/yamlsafe"
)

// Problem is one thing wrong with a config: a position in a file or an
// environment variable, and a message.
type Problem struct {
	File    string // the config file's name; "" for an env problem
	Line    int    // 1-based; 0 when unknown
	Column  int    // 1-based; 0 when unknown
	Env     string // the environment variable at fault, "" for a file problem
	Message string
}

// String formats the problem as "FILE:LINE:COL: message" (LINE and COL left
// out when unknown) or "env CAREBRIDGE_X: message", at most
// yamlsafe.MaxLine bytes.
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.Env != "":
		b.WriteString("env ")
		b.WriteString(p.Env)
	default:
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
			if p.Column > 0 {
				b.WriteString(":" + strconv.Itoa(p.Column))
			}
		}
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	return yamlsafe.ClipLine(b.String())
}

// Error implements error.
func (p Problem) Error() string { return p.String() }

// Errors is the error Load and Parse return: every problem found, file
// problems first in position order, then environment problems by name.
type Errors []Problem

// Error prints one problem per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems as errors, for errors.As on a Problem.
func (e Errors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, p := range e {
		errs[i] = p
	}
	return errs
}

// sortProblems orders file problems by position (stable: ties keep the
// order they were found in), then env problems by variable name.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if ae, be := a.Env != "", b.Env != ""; ae != be {
			if ae {
				return 1
			}
			return -1
		}
		return cmp.Or(
			cmp.Compare(a.Env, b.Env),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
		)
	})
}
