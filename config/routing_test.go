package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/connector/testworld/expect"
)

const routingUsers = `auth:
  users:
    - id: ana
      role: agent
      token_sha256: "` + "0000000000000000000000000000000000000000000000000000000000000001" + `"
      skills: [es, vip]
      capacity: 3
    - id: sue
      role: supervisor
      token_sha256: "` + "0000000000000000000000000000000000000000000000000000000000000002" + `"
`

// The routing section decodes, capacities fall back to the default, and a
// written config with rules and users' skills loads back the same.
func TestRoutingDecodesAndRoundTrips(t *testing.T) {
	text := routingUsers + `routing:
  mode: least_busy
  default_capacity: 7
  rules:
    - when: {platform: twitter, priority: urgent}
      skills: [vip]
    - when: {field: language, equals: es}
      skills: [es]
    - skills: [es]
`
	c, err := Parse("c.yaml", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Routing{Mode: RoutingLeastBusy, DefaultCapacity: 7, Rules: []RoutingRule{
		{Platform: "twitter", Priority: "urgent", Skills: []string{"vip"}},
		{Field: "language", Equals: "es", Skills: []string{"es"}},
		{Skills: []string{"es"}},
	}}
	if !reflect.DeepEqual(c.Routing, want) {
		t.Fatalf("routing %+v, want %+v", c.Routing, want)
	}
	if ana := c.Auth.Users[0]; !reflect.DeepEqual(ana.Skills, []string{"es", "vip"}) || c.CapacityOf(ana) != 3 {
		t.Fatalf("ana: skills %v capacity %d", ana.Skills, c.CapacityOf(ana))
	}
	if c.CapacityOf(c.Auth.Users[1]) != 7 {
		t.Fatalf("a user without capacity has %d, want the default 7", c.CapacityOf(c.Auth.Users[1]))
	}
	again, err := Parse("c.yaml", Template(c), nil)
	if err != nil {
		t.Fatalf("the written config does not load: %v\n%s", err, Template(c))
	}
	if !reflect.DeepEqual(again.Routing, c.Routing) || !reflect.DeepEqual(again.Auth.Users, c.Auth.Users) {
		t.Fatalf("written and loaded back: %+v %+v", again.Routing, again.Auth.Users)
	}
	if d := Default(); d.Routing.Mode != RoutingOff || len(d.Routing.Rules) != 0 {
		t.Fatalf("routing is on by default: %+v", d.Routing)
	}
}

// Each mistake in routing is a problem at its line and column.
func TestRoutingProblems(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"bad mode", "routing:\n  mode: fastest\n", `c.yaml:2:9: routing.mode: must be one of off, round_robin, least_busy`},
		{"zero capacity", "routing:\n  default_capacity: 0\n", `c.yaml:2:21: routing.default_capacity: must be from 1 to 1000`},
		{"user capacity", routingUsers + "      capacity: many\n", `c.yaml:11:17: auth.users[1].capacity: expected a whole number`},
		{"user skill with space", strings.Replace(routingUsers, "[es, vip]", "[es, big deal]", 1), `c.yaml:6:20: auth.users[0].skills[1]: a skill is one word`},
		{"rules not a list", "routing:\n  rules: {skills: [es]}\n", `c.yaml:2:10: routing.rules: expected a list of rules`},
		{"rule not a mapping", "routing:\n  rules:\n    - [es]\n", `c.yaml:3:7: routing.rules[0]: expected a mapping with when and skills, got a list`},
		{"conditions not a mapping", "routing:\n  rules:\n    - when: es\n      skills: [es]\n", `c.yaml:3:13: routing.rules[0].when: expected a mapping of platform, priority, field and equals, got string "es"`},
		{"unknown rule key", "routing:\n  rules:\n    - skill: [es]\n", `c.yaml:3:7: routing.rules[0]: unknown key "skill" (did you mean "skills"?)`},
		{"no skills", "routing:\n  rules:\n    - when: {platform: x}\n", `c.yaml:3:7: routing.rules[0]: missing skills`},
		{"unknown condition", "routing:\n  rules:\n    - when: {language: es}\n      skills: [es]\n", `c.yaml:3:14: routing.rules[0].when: unknown key "language"`},
		{"equals without field", "routing:\n  rules:\n    - when: {equals: es}\n      skills: [es]\n", `c.yaml:3:22: routing.rules[0].when.equals: equals needs field`},
		{"field without equals", "routing:\n  rules:\n    - when: {field: lang}\n      skills: [es]\n", `c.yaml:3:21: routing.rules[0].when.field: field needs equals`},
		{"bad priority", "routing:\n  rules:\n    - when: {priority: asap}\n      skills: [es]\n", `c.yaml:3:24: routing.rules[0].when.priority: must be one of urgent, high, medium, low`},
		{"skill no agent has", routingUsers + "routing:\n  mode: round_robin\n  rules:\n    - skills: [fr]\n",
			`c.yaml:14:16: routing.rules[0].skills[0]: no agent has skill "fr"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.yaml), nil)
			expect.ErrorSays(t, err, tt.want)
		})
	}
}
