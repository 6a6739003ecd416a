package main

import (
	"strings"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/config"
)

// routingOf is the routing the store applies (SPEC §16): the config's
// mode and rules, and its agents (never supervisors or integrations) with
// their skills and capacity.
func routingOf(cfg *config.Config) care.Routing {
	r := care.Routing{Mode: care.RoutingMode(cfg.Routing.Mode)}
	for _, rule := range cfg.Routing.Rules {
		r.Rules = append(r.Rules, care.RoutingRule{Platform: rule.Platform, Priority: care.Priority(rule.Priority),
			Field: rule.Field, Equals: rule.Equals, Skills: rule.Skills})
	}
	for _, u := range cfg.Auth.Users {
		if u.Role == config.RoleAgent {
			r.Agents = append(r.Agents, care.RoutingAgent{ID: u.ID, Skills: u.Skills, Capacity: cfg.CapacityOf(u)})
		}
	}
	return r
}

// splitSkills splits --skills a,b into its skills ("" = none).
func splitSkills(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
