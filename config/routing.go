package config

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Values of routing.mode (SPEC §16).
const (
	RoutingOff        = "off"
	RoutingRoundRobin = "round_robin"
	RoutingLeastBusy  = "least_busy"
)

// Bounds of routing.
const (
	maxCapacity     = 1000 // cases one agent holds at once
	maxRoutingRules = 200
	maxSkills       = 50 // skills of one rule or one user
)

// Routing assigns new cases to available agents with the skills a case
// needs and free capacity (SPEC §16).
type Routing struct {
	Mode            string // off | round_robin | least_busy
	DefaultCapacity int    // a user's capacity when the user sets none
	Rules           []RoutingRule
}

// RoutingRule gives the cases it matches skills to need: every condition
// set must hold (Field's value Equals). A rule without conditions matches
// every case.
type RoutingRule struct {
	Platform string
	Priority string
	Field    string
	Equals   string
	Skills   []string
}

// CapacityOf is u's capacity: its own, else routing.default_capacity.
func (c *Config) CapacityOf(u User) int {
	if u.Capacity > 0 {
		return u.Capacity
	}
	return c.Routing.DefaultCapacity
}

// routingRulesPath is routing's list of rules: like auth.users, neither a
// setting nor a section.
const routingRulesPath = "routing.rules"

// routingSettings are the scalar keys of routing.
func routingSettings() []*setting {
	return []*setting{
		{path: "routing.mode", kind: kindString, str: func(c *Config) *string { return &c.Routing.Mode },
			checkStr: checkOneOf(RoutingOff, RoutingRoundRobin, RoutingLeastBusy)},
		{path: "routing.default_capacity", kind: kindInt, integer: func(c *Config) *int { return &c.Routing.DefaultCapacity },
			checkInt: checkIntRange(1, maxCapacity)},
	}
}

// checkSkill accepts a skill name: no spaces, commas or control characters.
func checkSkill(v string) string {
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "a skill is one word without spaces or commas, got " + quote(v)
	}
	return ""
}

// listItems is the items of the list of what at path, at most max of
// them: none for null; ok is false (and the problem reported) when v is
// no list or a longer one.
func (d *decoder) listItems(v *yaml.Node, path, what string, max int) (items []*yaml.Node, ok bool) {
	n := resolve(v)
	switch {
	case isNull(n):
		return nil, true
	case n.Kind != yaml.SequenceNode:
		d.at(nodeOrigin(v), path, "expected a list of "+what+", got "+describe(n))
		return nil, false
	case len(n.Content) > max:
		d.at(nodeOrigin(v), path, fmt.Sprintf("at most %d %s, got %d", max, what, len(n.Content)))
		return nil, false
	}
	return n.Content, true
}

// listEntry is one mapping of a list: its path ("auth.users[2]"), its
// node as written (where problems about the whole entry point) and the
// mapping it resolves to.
type listEntry struct {
	path    string
	node, m *yaml.Node
}

// mappingList reads a list of at most max mappings at path (listItems); an
// entry that is no mapping is reported (mappingNode, "expected a
// mapping<keys>") and left out.
func (d *decoder) mappingList(v *yaml.Node, path, what string, max int, keys string) ([]listEntry, bool) {
	items, ok := d.listItems(v, path, what, max)
	if !ok {
		return nil, false
	}
	entries := make([]listEntry, 0, len(items))
	for i, it := range items {
		p := itemPath(path, i)
		if m, ok := d.mappingNode(it, p, keys); ok {
			entries = append(entries, listEntry{p, it, m})
		}
	}
	return entries, true
}

// writeBlockList writes key as a block list of n items, item i written by
// item at the items' indent, or as key: [] when n is 0.
func writeBlockList(b *strings.Builder, indent, key string, n int, item func(i int, indent string)) {
	if n == 0 {
		fmt.Fprintf(b, "%s%s: []\n", indent, key)
		return
	}
	fmt.Fprintf(b, "%s%s:\n", indent, key)
	for i := range n {
		item(i, indent+"  ")
	}
}

// skills decodes a list of skills at path; ok is false when it is bad.
func (d *decoder) skills(v *yaml.Node, path string) ([]string, bool) {
	items, ok := d.listItems(v, path, "skills", maxSkills)
	if !ok {
		return nil, false
	}
	return d.checkedStrings(items, path, checkSkill)
}

// checkedStrings is the values of the string items of the list at path,
// each checked by check; ok is false (each problem reported at its item)
// when one is no string or fails its check. Each item's position is kept
// in origins.
func (d *decoder) checkedStrings(items []*yaml.Node, path string, check func(string) string) (out []string, ok bool) {
	ok = true
	for i, it := range items {
		r := resolve(it)
		msg := "expected a string, got " + describe(r)
		if r.Kind == yaml.ScalarNode && !isNull(r) {
			msg = check(r.Value)
		}
		if msg != "" {
			d.at(nodeOrigin(it), itemPath(path, i), msg)
			ok = false
			continue
		}
		d.origins[itemPath(path, i)] = nodeOrigin(it)
		out = append(out, r.Value)
	}
	return out, ok
}

// userRouting decodes the routing keys of one auth.users entry (skills,
// capacity) into u; it reports whether name was one of them.
func (d *decoder) userRouting(u *User, path, name string, v *yaml.Node) bool {
	switch name {
	case "skills":
		u.Skills, _ = d.skills(v, path+".skills")
	case "capacity":
		r := resolve(v)
		n, err := strconv.Atoi(r.Value)
		if r.Kind != yaml.ScalarNode || r.ShortTag() != "!!int" || err != nil {
			d.at(nodeOrigin(v), path+".capacity", "expected a whole number, got "+describe(r))
		} else if msg := checkIntRange(1, maxCapacity)(n); msg != "" {
			d.at(nodeOrigin(v), path+".capacity", msg)
		} else {
			u.Capacity = n
		}
	default:
		return false
	}
	return true
}

// routingRules decodes routing.rules.
func (d *decoder) routingRules(v *yaml.Node) {
	d.origins[routingRulesPath] = nodeOrigin(v)
	entries, ok := d.mappingList(v, routingRulesPath, "rules", maxRoutingRules, " with when and skills")
	if !ok {
		return
	}
	var rules []RoutingRule
	for _, e := range entries {
		path, it, m := e.path, e.node, e.m
		var r RoutingRule
		hasSkills := false
		d.keys(m, path, func(name string, ko origin, val *yaml.Node) {
			switch name {
			case "when":
				d.routingWhen(&r, path+".when", val)
			case "skills":
				hasSkills = true
				r.Skills, _ = d.skills(val, path+".skills")
			default:
				d.unknownKey(ko, path, name, []string{"when", "skills"})
			}
		})
		if !hasSkills {
			d.at(nodeOrigin(it), path, "missing skills: a rule says which skills its cases need")
		}
		rules = append(rules, r)
	}
	d.cfg.Routing.Rules = rules
}

// routingWhen decodes a rule's conditions.
func (d *decoder) routingWhen(r *RoutingRule, path string, v *yaml.Node) {
	n, ok := d.mappingNode(v, path, " of platform, priority, field and equals")
	if !ok {
		return
	}
	fields := map[string]*string{"platform": &r.Platform, "priority": &r.Priority, "field": &r.Field, "equals": &r.Equals}
	pos := map[string]origin{}
	d.keys(n, path, func(name string, ko origin, val *yaml.Node) {
		dst, ok := fields[name]
		if !ok {
			d.unknownKey(ko, path, name, []string{"platform", "priority", "field", "equals"})
			return
		}
		s := resolve(val)
		if s.Kind != yaml.ScalarNode || isNull(s) {
			d.at(nodeOrigin(val), path+"."+name, "expected a string, got "+describe(s))
			return
		}
		*dst, pos[name] = s.Value, nodeOrigin(val)
	})
	if o, ok := pos["priority"]; ok {
		if msg := checkOneOf("urgent", "high", "medium", "low")(r.Priority); msg != "" {
			d.at(o, path+".priority", msg)
		}
	}
	for _, k := range []string{"platform", "field"} {
		if o, ok := pos[k]; ok && *fields[k] == "" {
			d.at(o, path+"."+k, "must not be empty")
		}
	}
	_, hasField := pos["field"]
	_, hasEquals := pos["equals"]
	switch {
	case hasEquals && !hasField:
		d.at(pos["equals"], path+".equals", "equals needs field: the case field whose value it compares")
	case hasField && !hasEquals:
		d.at(pos["field"], path+".field", "field needs equals: the value the case field must have")
	}
}

// validateRouting checks routing as a whole: with routing on, every skill
// a rule needs is some agent's, else its cases would wait for ever.
func (d *decoder) validateRouting() {
	if d.cfg.Routing.Mode == RoutingOff {
		return
	}
	have := map[string]bool{}
	for _, u := range d.cfg.Auth.Users {
		if u.Role == RoleAgent {
			for _, s := range u.Skills {
				have[s] = true
			}
		}
	}
	for i, r := range d.cfg.Routing.Rules {
		for j, s := range r.Skills {
			if !have[s] {
				p := itemPath(itemPath(routingRulesPath, i)+".skills", j)
				d.at(d.origins[p], p, fmt.Sprintf("no agent has skill %s: the cases of this rule would never be assigned", quote(s)))
			}
		}
	}
}

// writeRoutingRules writes routing.rules as a block list (or [] when
// empty), the way Template does.
func writeRoutingRules(b *strings.Builder, indent string, rules []RoutingRule) {
	writeBlockList(b, indent, "rules", len(rules), func(i int, indent string) {
		r := rules[i]
		var when []string
		for _, kv := range [][2]string{{"platform", r.Platform}, {"priority", r.Priority}, {"field", r.Field}} {
			if kv[1] != "" {
				when = append(when, kv[0]+": "+yamlQuote(kv[1]))
			}
		}
		if r.Field != "" {
			when = append(when, "equals: "+yamlQuote(r.Equals))
		}
		dash := "- "
		if len(when) > 0 {
			fmt.Fprintf(b, "%s- when: {%s}\n", indent, strings.Join(when, ", "))
			dash = "  "
		}
		fmt.Fprintf(b, "%s%sskills: %s\n", indent, dash, yamlList(r.Skills))
	})
}

// yamlList writes items as a YAML flow list of quoted strings.
func yamlList(items []string) string {
	q := make([]string, len(items))
	for i, v := range items {
		q[i] = yamlQuote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// userRoutingYAML is the routing keys of one auth.users entry, at indent.
func userRoutingYAML(u User, indent string) string {
	var b strings.Builder
	if len(u.Skills) > 0 {
		fmt.Fprintf(&b, "%s  skills: %s\n", indent, yamlList(u.Skills))
	}
	if u.Capacity > 0 {
		fmt.Fprintf(&b, "%s  capacity: %d\n", indent, u.Capacity)
	}
	return b.String()
}
