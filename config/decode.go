package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/carebridge/carebridge/config/yamlsafe"
)

// Load reads the config file at path ("" = defaults only), applies the
// overrides of environ (os.Environ() form), validates, and returns every
// problem at once as Errors. A file that cannot be read is an ordinary
// wrapped error (errors.Is(err, fs.ErrNotExist) works).
func Load(path string, environ []string) (*Config, error) {
	if path == "" {
		return parse("", nil, environ, false)
	}
	data, err := yamlsafe.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, environ)
}

// Parse is Load for data already read; name is the file name used in
// problems and Config.Path, and relative paths in the file are resolved
// against its directory.
func Parse(name string, data []byte, environ []string) (*Config, error) {
	return parse(name, data, environ, true)
}

func parse(name string, data []byte, environ []string, hasFile bool) (*Config, error) {
	d := &decoder{
		name:    name,
		dir:     filepath.Dir(name),
		sc:      newSchema(),
		cfg:     Default(),
		env:     envMap(environ),
		origins: map[string]origin{},
	}
	d.cfg.Path = name
	d.cfg.env = &envSecrets{clientSecret: Secret(d.env[EnvClientSecret]), secretKey: Secret(d.env[EnvSecretKey]),
		publishingSecret: Secret(d.env[EnvPublishingSecret])}
	if hasFile {
		d.parseFile(data)
	}
	d.applyEnv()
	d.validate()
	if len(d.problems) > 0 {
		sortProblems(d.problems)
		return nil, Errors(d.problems)
	}
	cfg := d.cfg
	return &cfg, nil
}

// envMap keeps the CAREBRIDGE_* entries of environ; a later entry wins, as
// with exec.Cmd.Env.
func envMap(environ []string) map[string]string {
	m := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			m[k] = v
		}
	}
	return m
}

// origin is where a value came from: a file position or an env variable.
// The zero origin is the default.
type origin struct {
	line, col int
	env       string
}

func nodeOrigin(n *yaml.Node) origin { return origin{line: n.Line, col: n.Column} }

// decoder holds one parse's state.
type decoder struct {
	name     string
	dir      string // relative fs paths in the file are joined to this
	sc       *schema
	cfg      Config
	env      map[string]string
	origins  map[string]origin // by dotted path, list items as path[i]
	problems []Problem
}

// at records a problem at o. File problems are prefixed with path (when
// not ""); env problems are named by their variable.
func (d *decoder) at(o origin, path, msg string) {
	p := Problem{Message: msg}
	if o.env != "" {
		p.Env = o.env
	} else {
		p.File, p.Line, p.Column = d.name, o.line, o.col
		if p.File == "" {
			p.File = "config" // Parse with no name, or a default gone wrong
		}
		if path != "" {
			p.Message = path + ": " + msg
		}
	}
	d.problems = append(d.problems, p)
}

// parseFile decodes the YAML document over the defaults.
func (d *decoder) parseFile(data []byte) {
	if msg := yamlsafe.TooLarge(data); msg != "" {
		d.at(origin{line: 1, col: 1}, "", msg)
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.syntaxError(err)
		}
		return
	}
	if bomb := yamlsafe.AliasBomb(&doc); bomb != nil {
		d.at(nodeOrigin(bomb), "", yamlsafe.AliasBombMessage())
		return
	}
	d.extraDocuments(dec)
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return
		}
		root = root.Content[0]
	}
	d.mapping(root, "")
}

// extraDocuments reports the first non-empty document after the first (a
// trailing "---" is harmless) or a syntax error after it.
func (d *decoder) extraDocuments(dec *yaml.Decoder) {
	switch extra, err := yamlsafe.ExtraDocument(dec); {
	case err != nil:
		d.syntaxError(err)
	case extra != nil:
		d.at(nodeOrigin(extra.Content[0]), "", "a config file holds one YAML document; a second one starts here")
	}
}

// syntaxError records a YAML parse error with the line yaml.v3 gives, if
// any ("yaml: line 3: did not find expected key").
func (d *decoder) syntaxError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var o origin
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil && n > 0 {
				o.line, msg = n, text
			}
		}
	}
	d.at(o, "", "invalid YAML: "+msg)
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; i < 8 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names a node's kind and value for "expected X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "boolean " + n.Value
		case "!!int", "!!float":
			return "number " + n.Value
		case "!!str":
			return "string " + quote(n.Value)
		}
		return n.ShortTag() + " " + quote(n.Value)
	}
	return "nothing"
}

// mappingNode resolves v, which must be a mapping, else it reports
// "expected a mapping<keys>, got …" at path; keys names what the mapping
// holds (" with id, name, …"), or is "".
func (d *decoder) mappingNode(v *yaml.Node, path, keys string) (*yaml.Node, bool) {
	n := resolve(v)
	if n.Kind != yaml.MappingNode {
		d.at(nodeOrigin(v), path, "expected a mapping"+keys+", got "+describe(n))
		return nil, false
	}
	return n, true
}

// keys walks a mapping node's pairs, reporting keys that are not strings,
// merge keys and duplicates, and calls fn for the first of each key.
func (d *decoder) keys(m *yaml.Node, path string, fn func(name string, ko origin, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		kn, v := m.Content[i], m.Content[i+1]
		ko := nodeOrigin(kn)
		k := resolve(kn)
		switch {
		case k.Kind != yaml.ScalarNode || isNull(k):
			d.at(ko, path, "a key must be a string, got "+describe(k))
			continue
		case k.ShortTag() == "!!merge":
			d.at(ko, path, `merge keys ("<<") are not supported; write the keys out`)
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.at(ko, path, fmt.Sprintf("duplicate key %s (first at line %d)", quote(k.Value), line))
			continue
		}
		seen[k.Value] = ko.line
		fn(k.Value, ko, v)
	}
}

// mapping decodes a section of the schema; path "" is the top level.
func (d *decoder) mapping(v *yaml.Node, path string) {
	n := resolve(v)
	switch {
	case isNull(n):
		return // "care:" with everything commented out keeps the defaults
	case path == "" && n.Kind != yaml.MappingNode:
		d.at(nodeOrigin(v), "", "the top level must be a mapping of keys, got "+describe(n))
		return
	}
	n, ok := d.mappingNode(v, path, "")
	if !ok {
		return
	}
	d.keys(n, path, func(name string, ko origin, val *yaml.Node) {
		full := join(path, name)
		switch {
		case full == usersPath:
			d.users(val)
		case full == routingRulesPath:
			d.routingRules(val)
		case full == slaPath:
			d.sla(val)
		case d.sc.isSection(full):
			d.mapping(val, full)
		case d.sc.byPath[full] != nil:
			d.value(d.sc.byPath[full], val)
		default:
			d.unknownKey(ko, path, name, d.sc.sections[path])
		}
	})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// kindName is what a setting expects, for messages.
func kindName(k kind) string {
	switch k {
	case kindDuration:
		return "a duration such as 30s, 5m or 6h"
	case kindNumber:
		return "a number"
	case kindInt:
		return "a whole number"
	case kindList:
		return "a list of strings"
	case kindBool:
		return "true or false"
	}
	return "a string"
}

// value decodes one setting's node.
func (d *decoder) value(s *setting, v *yaml.Node) {
	o := nodeOrigin(v)
	n := resolve(v)
	if s.kind == kindList {
		d.list(s, v)
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.at(o, s.path, "expected "+kindName(s.kind)+", got "+describe(n))
		return
	}
	raw := n.Value
	switch {
	case isNull(n) && s.kind != kindString:
		d.at(o, s.path, "expected "+kindName(s.kind)+", got null")
		return
	case isNull(n):
		raw = ""
	case s.kind == kindNumber && n.ShortTag() != "!!int" && n.ShortTag() != "!!float",
		s.kind == kindInt && n.ShortTag() != "!!int",
		s.kind == kindBool && n.ShortTag() != "!!bool":
		d.at(o, s.path, "expected "+kindName(s.kind)+", got "+describe(n))
		return
	}
	if s.fsPath && raw != "" && !filepath.IsAbs(raw) && d.dir != "." {
		raw = filepath.Join(d.dir, raw)
	}
	if msg := s.set(&d.cfg, raw); msg != "" {
		d.at(o, s.path, msg)
		return
	}
	d.origins[s.path] = o
}

// list decodes a list-of-strings setting; on any bad item the default stays.
func (d *decoder) list(s *setting, v *yaml.Node) {
	o := nodeOrigin(v)
	n := resolve(v)
	if isNull(n) {
		*s.list(&d.cfg) = []string{}
		d.origins[s.path] = o
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.at(o, s.path, "expected a list of strings, got "+describe(n))
		return
	}
	items := make([]string, 0, len(n.Content))
	itemOrigins := make([]origin, 0, len(n.Content))
	bad := false
	for i, it := range n.Content {
		r := resolve(it)
		if r.Kind != yaml.ScalarNode || isNull(r) {
			d.at(nodeOrigin(it), itemPath(s.path, i), "expected a string, got "+describe(r))
			bad = true
			continue
		}
		items = append(items, r.Value)
		itemOrigins = append(itemOrigins, nodeOrigin(it))
	}
	if bad {
		return
	}
	*s.list(&d.cfg) = items
	d.origins[s.path] = o
	for i, io := range itemOrigins {
		d.origins[itemPath(s.path, i)] = io
	}
}

func itemPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// unknownKey reports a key the schema does not have, with a "did you mean"
// from the same mapping or, failing that, the same key in another section.
func (d *decoder) unknownKey(ko origin, parent, name string, known []string) {
	msg := "unknown key " + quote(name)
	if s := suggest(name, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", quote(s))
	} else if full := d.elsewhere(parent, name); full != "" && (parent == "" || d.sc.isSection(parent)) {
		msg += fmt.Sprintf(" (did you mean %s?)", quote(full))
	}
	d.at(ko, parent, msg)
}

// elsewhere finds a schema path, outside parent, whose last element is name.
func (d *decoder) elsewhere(parent, name string) string {
	var paths []string
	for sec, keys := range d.sc.sections {
		if sec == parent {
			continue
		}
		for _, k := range keys {
			if strings.EqualFold(k, name) {
				paths = append(paths, join(sec, k))
			}
		}
	}
	if len(paths) == 0 {
		return ""
	}
	slices.Sort(paths)
	return paths[0]
}

// applyEnv applies CAREBRIDGE_* overrides. An empty value counts as unset.
func (d *decoder) applyEnv() {
	for _, s := range d.sc.settings {
		name := s.envName()
		raw := d.env[name]
		if raw == "" {
			continue
		}
		if msg := s.set(&d.cfg, raw); msg != "" {
			d.at(origin{env: name}, s.path, msg)
			continue
		}
		o := origin{env: name}
		d.origins[s.path] = o
		if s.kind == kindList {
			for i := range *s.list(&d.cfg) {
				d.origins[itemPath(s.path, i)] = o
			}
		}
	}
	if name := EnvPrefix + "AUTH_USERS"; d.env[name] != "" {
		d.at(origin{env: name}, usersPath, "users cannot come from the environment; list them under auth.users in the config file")
	}
}

// validate checks every setting's final value, then the rules that span
// several settings.
func (d *decoder) validate() {
	for _, s := range d.sc.settings {
		msg, bad := s.check(&d.cfg)
		if msg != "" {
			d.at(d.origins[s.path], s.path, msg)
		}
		for _, i := range slices.Sorted(maps.Keys(bad)) {
			ip := itemPath(s.path, i)
			o, ok := d.origins[ip]
			if !ok {
				o = d.origins[s.path]
			}
			d.at(o, ip, bad[i])
		}
	}

	sf := &d.cfg.Salesforce
	if (sf.JWT.Username == "") != (sf.JWT.PrivateKeyFile == "") {
		set, missing := "salesforce.jwt.username", "salesforce.jwt.private_key_file"
		if sf.JWT.Username == "" {
			set, missing = missing, set
		}
		d.at(d.origins[set], set, missing+" is not set; the JWT bearer flow needs both username and private_key_file")
	}
	if sf.JWT.Enabled() && sf.ClientID == "" {
		const p = "salesforce.jwt.username"
		d.at(d.origins[p], p, "the JWT bearer flow needs salesforce.client_id (the connected app's consumer key)")
	}
	for _, p := range []string{"salesforce.client_secret_file", "salesforce.jwt.private_key_file", "publishing.secret_file"} {
		file := *d.sc.byPath[p].str(&d.cfg)
		if file == "" {
			continue
		}
		b, err := readSecretFile(file)
		switch {
		case err != nil:
			d.at(d.origins[p], p, fmt.Sprintf("cannot read %s: %s", quote(file), fileReason(err)))
		case len(bytes.TrimSpace(b)) == 0:
			d.at(d.origins[p], p, quote(file)+" is empty")
		}
	}
	d.validatePublishing()
	d.validateRouting()
}

// fileReason is the part of a file error worth showing next to the path.
func fileReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
