package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/testworld/expect"
)

const slaGood = `sla:
  - name: vip
    when: {priority: [urgent, high], platform: [twitter]}
    first_response: 15m
    next_response: 1h
    resolution: 24h
  - name: urgent
    when:
      priority: urgent
    first_response: 30m
    next_response: 2h
    resolution: 48h
  - name: standard
    first_response: 1h
    next_response: 4h
    resolution: 72h
`

func TestSLAPolicies(t *testing.T) {
	c, err := Parse("c.yaml", []byte(slaGood), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := care.SLAPolicies{
		{Name: "vip", Priorities: []care.Priority{"urgent", "high"}, Platforms: []string{"twitter"},
			FirstResponse: 15 * time.Minute, NextResponse: time.Hour, Resolution: 24 * time.Hour},
		{Name: "urgent", Priorities: []care.Priority{"urgent"}, FirstResponse: 30 * time.Minute, NextResponse: 2 * time.Hour, Resolution: 48 * time.Hour},
		{Name: "standard", FirstResponse: time.Hour, NextResponse: 4 * time.Hour, Resolution: 72 * time.Hour},
	}
	if !reflect.DeepEqual(c.SLA, want) {
		t.Fatalf("sla = %+v\nwant %+v", c.SLA, want)
	}
	// The written config loads back to the same policies.
	back, err := Parse("c.yaml", Template(c), nil)
	if err != nil || !reflect.DeepEqual(back.SLA, want) {
		t.Fatalf("written and loaded back: %+v %v\n%s", back.SLA, err, Template(c))
	}
	if def := Default(); len(def.SLA) != 0 {
		t.Errorf("default SLA policies %+v", def.SLA)
	}
}

// Every problem of the sla list names file:line:col, all at once.
func TestSLAPolicyProblems(t *testing.T) {
	policy := func(name, when, first string) string {
		return "  - name: " + name + "\n" + when + "    first_response: " + first + "\n    next_response: 1h\n    resolution: 24h\n"
	}
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"zero duration", "sla:\n" + policy("a", "", "0s"),
			[]string{"c.yaml:3:21: sla[0].first_response: must be greater than 0, got 0s"}},
		{"negative and too long", "sla:\n" + policy("a", "", "-5m") + strings.Replace(policy("b", "    when: {platform: [x]}\n", "1h"), "24h", "9000h", 1),
			[]string{"c.yaml:3:21: sla[0].first_response: must be greater than 0", "c.yaml:10:17: sla[1].resolution: must be at most 8760h, got 9000h"}},
		{"overlap", "sla:\n" + policy("all", "", "1h") + policy("vip", "    when: {priority: [urgent]}\n", "5m"),
			[]string{`c.yaml:6:5: sla[1]: policy "vip" is never used: policy "all" (line 2) before it matches every case it matches`}},
		{"narrower first is fine, covered after is not", "sla:\n" +
			policy("tw-urgent", "    when: {priority: [urgent], platform: [twitter]}\n", "5m") +
			policy("urgent", "    when: {priority: [urgent, high]}\n", "10m") +
			policy("urgent-tw", "    when: {priority: [urgent], platform: [twitter, x]}\n", "5m") +
			policy("high", "    when: {priority: [high]}\n", "5m"),
			[]string{`c.yaml:12:5: sla[2]: policy "urgent-tw" is never used: policy "urgent" (line 7)`,
				`c.yaml:17:5: sla[3]: policy "high" is never used: policy "urgent" (line 7)`}},
		{"duplicate name", "sla:\n" + policy("a", "    when: {platform: [x]}\n", "1h") + policy("a", "", "1h"),
			[]string{`c.yaml:7:5: sla[1].name: duplicate policy name "a" (first at line 2)`}},
		{"bad values", "sla:\n  - name: a\n    when: {priority: [soon], channel: [x]}\n    first_response: 1d\n    resolution: 1h\n",
			[]string{`c.yaml:3:23: sla[0].when.priority[0]: must be one of urgent, high, medium, low, got "soon"`,
				`c.yaml:3:30: sla[0].when: unknown key "channel"`,
				`c.yaml:4:21: sla[0].first_response: invalid duration "1d": days are not a unit`,
				"c.yaml:2:5: sla[0]: missing next_response"}},
		{"policy not a mapping", "sla:\n  - gold\n",
			[]string{`c.yaml:2:5: sla[0]: expected a mapping with name, when, first_response, next_response and resolution, got string "gold"`}},
		{"when not a mapping", "sla:\n" + policy("a", "    when: [urgent]\n", "1h"),
			[]string{`c.yaml:3:11: sla[0].when: expected a mapping with priority and platform, got a list`}},
		{"not a list", "sla: {name: a}\n", []string{"c.yaml:1:6: sla: expected a list of SLA policies"}},
		{"too many", "sla: [" + strings.Repeat("x, ", maxSLAPolicies) + "x]\n", []string{"c.yaml:1:6: sla: at most 100 SLA policies, got 101"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yaml), nil)
			expect.ErrorSays(t, err, tc.want...)
		})
	}
}
