package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// runReport runs cbbench with args and --json and returns its report.
func runReport(t *testing.T, args ...string) report {
	t.Helper()
	var out, errs bytes.Buffer
	if code := run(append([]string{"--json"}, args...), &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out.String())
	}
	return rep
}

// runTable runs cbbench with args and fails unless its table holds want.
func runTable(t *testing.T, want string, args ...string) {
	t.Helper()
	var out, errs bytes.Buffer
	if code := run(args, &out, &errs); code != 0 || !strings.Contains(out.String(), want) {
		t.Fatalf("table: exit %d\n%s%s", code, out.String(), errs.String())
	}
}
