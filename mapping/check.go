package mapping

import (
	"context"
	"fmt"

	"github.com/carebridge/carebridge/config/yamlsafe"
)

// Report is the outcome of checking a mapping file.
type Report struct {
	File     string    `json:"file"`
	Online   bool      `json:"online"` // also checked against describe
	Problems []Problem `json:"problems"`
}

// OK reports whether the mapping has no problem.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Lines are the problems as FILE:LINE:COL: message lines, sorted.
func (r *Report) Lines() []string {
	out := make([]string, len(r.Problems))
	for i, p := range r.Problems {
		out[i] = p.String()
	}
	return out
}

// Check validates mapping text offline and, with a Describer, against the
// org's describe; every problem at once. The mapping is returned when it
// has no problem. The error is for a describe that failed for another
// reason than a missing object (the org could not be asked).
func Check(ctx context.Context, file string, data []byte, d Describer) (*Report, *Mapping, error) {
	m, probs := parse(file, data)
	rep := &Report{File: file, Online: d != nil, Problems: probs}
	if d != nil {
		online, err := ValidateOnline(ctx, m, d)
		if err != nil {
			return nil, nil, fmt.Errorf("check mapping %s online: %w", file, err)
		}
		rep.Problems = sortProblems(append(rep.Problems, online...))
	}
	if rep.Problems == nil {
		rep.Problems = []Problem{}
	}
	if !rep.OK() {
		return rep, nil, nil
	}
	return rep, m, nil
}

// CheckFile is `carebridge mapping check FILE [--online]`: it reads the
// file and checks it (online when d is not nil). Print Report.Lines and exit
// 1 unless Report.OK. The error is for an unreadable file or a failed
// describe.
func CheckFile(ctx context.Context, path string, d Describer) (*Report, error) {
	data, err := yamlsafe.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read mapping: %w", err)
	}
	rep, _, err := Check(ctx, path, data, d)
	return rep, err
}
