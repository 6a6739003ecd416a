package config

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/carebridge/carebridge/care"
)

// slaPath is the list of SLA policies: like auth.users, neither a setting
// nor a section.
const slaPath = "sla"

// Bounds of sla.
const (
	maxSLAPolicies = 100
	maxSLATarget   = 365 * 24 * time.Hour // a target beyond a year is a typo
)

// SLAPolicies are the SLA policies of the config, in order (Config.SLA).
type SLAPolicies = care.SLAPolicies

// slaKeys are the keys of one sla entry; slaWhenKeys those of its when.
func slaKeys() []string {
	return []string{"name", "when", "first_response", "next_response", "resolution"}
}

func slaWhenKeys() []string { return []string{"priority", "platform"} }

var slaPriorities = []string{"urgent", "high", "medium", "low"}

// sla decodes the sla list (SPEC §16) into Config.SLA: each policy's keys and values, unique names,
// and no policy that an earlier one makes unreachable.
func (d *decoder) sla(v *yaml.Node) {
	d.origins[slaPath] = nodeOrigin(v)
	if isNull(resolve(v)) {
		d.cfg.SLA = nil
		return
	}
	entries, ok := d.mappingList(v, slaPath, "SLA policies", maxSLAPolicies,
		" with name, when, first_response, next_response and resolution")
	if !ok {
		return
	}
	type placed struct {
		p    care.SLAPolicy
		line int
	}
	var kept []placed
	names := map[string]int{}
	out := make([]care.SLAPolicy, 0, len(entries))
	for _, e := range entries {
		path := e.path
		p, good := d.slaPolicy(e.node, e.m, path)
		if !good {
			continue
		}
		o := nodeOrigin(e.node)
		if line, dup := names[p.Name]; dup {
			d.at(o, path+".name", fmt.Sprintf("duplicate policy name %s (first at line %d)", quote(p.Name), line))
			continue
		}
		names[p.Name] = o.line
		for _, e := range kept {
			if e.p.Covers(p) {
				d.at(o, path, fmt.Sprintf("policy %s is never used: policy %s (line %d) before it matches every case it matches",
					quote(p.Name), quote(e.p.Name), e.line))
				break
			}
		}
		kept = append(kept, placed{p, o.line})
		out = append(out, p)
	}
	d.cfg.SLA = out
}

// slaPolicy decodes one policy at path, the mapping m of the list entry
// it; good is false when it had a problem (reported).
func (d *decoder) slaPolicy(it, m *yaml.Node, path string) (p care.SLAPolicy, good bool) {
	good = true
	bad := func(o origin, key, msg string) {
		d.at(o, path+"."+key, msg)
		good = false
	}
	durs := map[string]*time.Duration{"first_response": &p.FirstResponse, "next_response": &p.NextResponse, "resolution": &p.Resolution}
	seen := map[string]bool{}
	d.keys(m, path, func(name string, ko origin, val *yaml.Node) {
		r := resolve(val)
		seen[name] = true
		switch dst := durs[name]; {
		case name == "name":
			if r.Kind != yaml.ScalarNode || isNull(r) || strings.TrimSpace(r.Value) == "" {
				bad(nodeOrigin(val), name, "expected a non-empty name, got "+describe(r))
				return
			}
			p.Name = r.Value
		case name == "when":
			if !d.slaWhen(val, path+".when", &p) {
				good = false
			}
		case dst != nil:
			if r.Kind != yaml.ScalarNode || isNull(r) {
				bad(nodeOrigin(val), name, "expected "+kindName(kindDuration)+", got "+describe(r))
				return
			}
			t, msg := parseDuration(r.Value)
			switch {
			case msg != "":
			case t <= 0:
				msg = "must be greater than 0, got " + fmtDuration(t)
			case t > maxSLATarget:
				msg = fmt.Sprintf("must be at most %s, got %s", fmtDuration(maxSLATarget), fmtDuration(t))
			}
			if msg != "" {
				bad(nodeOrigin(val), name, msg)
				return
			}
			*dst = t
		default:
			d.unknownKey(ko, path, name, slaKeys())
			good = false
		}
	})
	var missing []string
	for _, k := range slaKeys() {
		if k != "when" && !seen[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		d.at(nodeOrigin(it), path, "missing "+strings.Join(missing, ", "))
		good = false
	}
	return p, good
}

// slaWhen decodes a policy's when into p.
func (d *decoder) slaWhen(v *yaml.Node, path string, p *care.SLAPolicy) bool {
	if isNull(resolve(v)) {
		return true
	}
	m, ok := d.mappingNode(v, path, " with priority and platform")
	if !ok {
		return false
	}
	good := true
	d.keys(m, path, func(name string, ko origin, val *yaml.Node) {
		var dst *[]string
		var check func(string) string
		switch name {
		case "priority":
			var prios []string
			dst, check = &prios, checkOneOf(slaPriorities...)
			defer func() {
				for _, v := range prios {
					p.Priorities = append(p.Priorities, care.Priority(v))
				}
			}()
		case "platform":
			dst, check = &p.Platforms, checkNotEmpty
		default:
			d.unknownKey(ko, path, name, slaWhenKeys())
			good = false
			return
		}
		items, ok := d.slaList(val, path+"."+name, check)
		good = good && ok
		*dst = items
	})
	return good
}

// slaList decodes a list of strings (or one string) at path, each checked.
func (d *decoder) slaList(v *yaml.Node, path string, check func(string) string) ([]string, bool) {
	n := resolve(v)
	items := []*yaml.Node{v}
	switch {
	case n.Kind == yaml.SequenceNode && len(n.Content) > 0:
		items = n.Content
	case n.Kind == yaml.SequenceNode, isNull(n):
		d.at(nodeOrigin(v), path, "expected at least one value (leave the key out to match any)")
		return nil, false
	}
	return d.checkedStrings(items, path, check)
}

// writeSLA writes sla as a block list (or [] when empty), the way
// Template does.
func writeSLA(b *strings.Builder, indent string, policies []care.SLAPolicy) {
	if len(policies) == 0 {
		fmt.Fprintf(b, "%ssla: []\n", indent)
		return
	}
	quoted := func(items []string) string {
		out := make([]string, len(items))
		for i, v := range items {
			out[i] = yamlQuote(v)
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	fmt.Fprintf(b, "%ssla:\n", indent)
	for _, p := range policies {
		fmt.Fprintf(b, "%s  - name: %s\n", indent, yamlQuote(p.Name))
		var when []string
		if len(p.Priorities) > 0 {
			prios := make([]string, len(p.Priorities))
			for i, v := range p.Priorities {
				prios[i] = string(v)
			}
			when = append(when, "priority: "+quoted(prios))
		}
		if len(p.Platforms) > 0 {
			when = append(when, "platform: "+quoted(p.Platforms))
		}
		if len(when) > 0 {
			fmt.Fprintf(b, "%s    when: {%s}\n", indent, strings.Join(when, ", "))
		}
		fmt.Fprintf(b, "%s    first_response: %s\n%s    next_response: %s\n%s    resolution: %s\n", indent, fmtDuration(p.FirstResponse),
			indent, fmtDuration(p.NextResponse), indent, fmtDuration(p.Resolution))
	}
}
