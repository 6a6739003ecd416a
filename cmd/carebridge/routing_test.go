package main

import (
	"reflect"
	"testing"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/config"
)

// The store routes to the config's agents alone (never supervisors or
// integrations), each with their skills and their capacity or the default.
func TestRoutingOf(t *testing.T) {
	cfg := config.Default()
	cfg.Routing = config.Routing{Mode: config.RoutingRoundRobin, DefaultCapacity: 4,
		Rules: []config.RoutingRule{{Priority: "urgent", Field: "lang", Equals: "es", Skills: []string{"es"}}}}
	cfg.Auth.Users = []config.User{
		{ID: "ana", Role: config.RoleAgent, Skills: []string{"es"}, Capacity: 2},
		{ID: "ben", Role: config.RoleAgent},
		{ID: "sue", Role: config.RoleSupervisor, Skills: []string{"es"}},
		{ID: "community", Role: config.RoleIntegration},
	}
	want := care.Routing{Mode: care.RoutingRoundRobin,
		Rules:  []care.RoutingRule{{Priority: care.PriorityUrgent, Field: "lang", Equals: "es", Skills: []string{"es"}}},
		Agents: []care.RoutingAgent{{ID: "ana", Skills: []string{"es"}, Capacity: 2}, {ID: "ben", Capacity: 4}}}
	if got := routingOf(&cfg); !reflect.DeepEqual(got, want) {
		t.Fatalf("routing %+v, want %+v", got, want)
	}
	if got := splitSkills(" es, ,vip "); !reflect.DeepEqual(got, []string{"es", "vip"}) {
		t.Fatalf("--skills splits into %q", got)
	}
}
