package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/config/atomicfile"
	"github.com/carebridge/carebridge/config/yamlsafe"
)

// userAddCmd is `carebridge user add --config FILE --name NAME --email EMAIL
// --role ROLE [--id ID] [--skills a,b] [--capacity N]`: the user is appended to auth.users, the rest of
// the file kept byte for byte (comments and layout), and their token is
// printed once.
func userAddCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("user add", stderr)
	cfgPath := fs.String("config", "", "the config `FILE` to add the user to")
	name := fs.String("name", "", "the user's `NAME`")
	email := fs.String("email", "", "the user's `EMAIL` (optional for an integration)")
	role := fs.String("role", "", "agent | supervisor | integration")
	id := fs.String("id", "", "the user `ID` (default: the email's local part, else the name, in lower case)")
	skills := fs.String("skills", "", "routing: the agent's `SKILLS`, comma-separated (es,billing)")
	capacity := fs.Int("capacity", 0, "routing: the `N` cases new, open or pending the agent holds at once (default routing.default_capacity)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 0:
		return usageErr("user add takes no arguments")
	case *cfgPath == "" || *name == "" || *role == "":
		return usageErr("user add needs --config, --name and --role")
	case !slices.Contains([]string{config.RoleAgent, config.RoleSupervisor, config.RoleIntegration}, *role):
		return usageErr("--role must be agent, supervisor or integration, got %q", *role)
	case *email == "" && *role != config.RoleIntegration:
		return usageErr("--email is needed for an %s", *role)
	case *capacity < 0:
		return usageErr("--capacity must be 1 or more, got %d", *capacity)
	}
	if *id == "" {
		*id = userID(*email, *name)
	}
	data, err := yamlsafe.ReadFile(*cfgPath)
	if err != nil {
		return err
	}
	cfg, err := config.Parse(*cfgPath, data, nil)
	if err != nil {
		return fmt.Errorf("fix the config before adding a user:\n%w", err)
	}
	for _, u := range cfg.Auth.Users {
		switch {
		case u.ID == *id:
			return fmt.Errorf("%s already has a user with the id %q (--id picks another)", *cfgPath, *id)
		case *email != "" && strings.EqualFold(u.Email, *email):
			return fmt.Errorf("%s already has a user with the email %s (%q)", *cfgPath, *email, u.ID)
		}
	}
	token := randomToken()
	sum := sha256.Sum256([]byte(token))
	u := config.User{ID: *id, Name: *name, Email: *email, Role: *role, TokenSHA256: hex.EncodeToString(sum[:]),
		Skills: splitSkills(*skills), Capacity: *capacity}
	out, err := appendUser(data, u)
	if err != nil {
		return fmt.Errorf("%s: %w; add the user by hand (carebridge token hash makes the token_sha256)", *cfgPath, err)
	}
	// Never write a file the daemon would refuse.
	after, err := config.Parse(*cfgPath, out, nil)
	if err != nil || len(after.Auth.Users) != len(cfg.Auth.Users)+1 || !reflect.DeepEqual(after.Auth.Users[len(cfg.Auth.Users)], u) {
		return fmt.Errorf("%s: could not add the user without breaking the file (%v); add them by hand", *cfgPath, err)
	}
	perm := os.FileMode(0o600)
	if fi, err := os.Stat(*cfgPath); err == nil {
		perm = fi.Mode().Perm()
	}
	if err := atomicfile.Write(*cfgPath, out, perm); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Added %s to %s (restart the daemon to let them in).\n", u.ID, *cfgPath)
	printToken(stdout, u, token)
	return nil
}

// userID makes an id from an email's local part, else a name: lower case,
// letters, digits, ".", "-" and "_".
func userID(email, name string) string {
	src := name
	if local, _, ok := strings.Cut(email, "@"); ok && local != "" {
		src = local
	}
	var b strings.Builder
	for _, r := range strings.ToLower(src) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ' && b.Len() > 0:
			b.WriteByte('.')
		}
	}
	if b.Len() == 0 {
		return "user"
	}
	return strings.Trim(b.String(), ".")
}

// errFlowUsers refuses a file whose users are a non-empty flow list.
var errFlowUsers = errors.New("auth.users is written as a flow list [...]")

// appendUser returns data with u appended to auth.users. The YAML tree
// only says where: the text around is kept as it is, comments and blank
// lines included (re-encoding would lose the blank lines and move
// comments). The caller checks the result loads.
func appendUser(data []byte, u config.User) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	lines := splitLines(data)
	var root *yaml.Node
	if len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	auth, authVal := mappingEntry(root, "auth")
	if auth == nil { // no auth section: one at the end
		return insertLines(lines, len(lines), "auth:\n  users:\n"+config.UserYAML(u, "    ")), nil
	}
	if authVal.Kind == yaml.ScalarNode && authVal.ShortTag() == "!!null" { // "auth:" alone
		indent := strings.Repeat(" ", auth.Column+1)
		return insertLines(lines, auth.Line, indent+"users:\n"+config.UserYAML(u, indent+"  ")), nil
	}
	if authVal.Kind != yaml.MappingNode || authVal.Style&yaml.FlowStyle != 0 {
		return nil, errors.New("auth is not a block mapping")
	}
	users, usersVal := mappingEntry(authVal, "users")
	if users == nil { // no users key: first in auth
		indent := strings.Repeat(" ", authVal.Content[0].Column-1)
		return insertLines(lines, auth.Line, indent+"users:\n"+config.UserYAML(u, indent+"  ")), nil
	}
	keyIndent := strings.Repeat(" ", users.Column-1)
	empty := (usersVal.Kind == yaml.ScalarNode && usersVal.ShortTag() == "!!null") ||
		(usersVal.Kind == yaml.SequenceNode && len(usersVal.Content) == 0)
	if empty { // "users:", "users: ~" or "users: []": the key's line is rewritten
		if usersVal.Line != users.Line {
			return nil, errors.New("auth.users has its empty value on another line")
		}
		head := keyIndent + "users:"
		if c := usersVal.LineComment; c != "" {
			head += " " + c
		}
		lines[users.Line-1] = head + "\n"
		return insertLines(lines, users.Line, config.UserYAML(u, keyIndent+"  ")), nil
	}
	if usersVal.Kind != yaml.SequenceNode {
		return nil, errors.New("auth.users is not a list")
	}
	if usersVal.Style&yaml.FlowStyle != 0 {
		return nil, errFlowUsers
	}
	// The list's dash column is where its first item's "-" is.
	first := usersVal.Content[0]
	dash := strings.IndexByte(lines[first.Line-1], '-')
	if dash < 0 || dash >= first.Column-1 {
		return nil, errors.New("cannot find the list's dashes")
	}
	last := usersVal.Content[len(usersVal.Content)-1]
	// The list ends before the first line, after its last item, that is
	// indented no deeper than its dashes; comments and blank lines just
	// before that line belong to what follows.
	end := len(lines)
	for i := last.Line; i < len(lines); i++ {
		if t := strings.TrimSpace(lines[i]); t != "" && !strings.HasPrefix(t, "#") && indentOf(lines[i]) <= dash {
			end = i
			break
		}
	}
	for end > last.Line {
		t := strings.TrimSpace(lines[end-1])
		if t != "" && !(strings.HasPrefix(t, "#") && indentOf(lines[end-1]) <= dash) {
			break
		}
		end--
	}
	item := config.UserYAML(u, strings.Repeat(" ", dash))
	if last.Style&yaml.FlowStyle != 0 { // the file's style: "- {id: ..., ...}"
		item = flowUserYAML(u, strings.Repeat(" ", dash))
	}
	if end > 0 && !strings.HasSuffix(lines[end-1], "\n") {
		lines[end-1] += "\n"
	}
	return insertLines(lines, end, item), nil
}

// flowUserYAML is one auth.users entry as "- {id: ..., ...}".
func flowUserYAML(u config.User, indent string) string {
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	return fmt.Sprintf("%s- {id: %s, name: %s, email: %s, role: %s, token_sha256: %s}\n",
		indent, q(u.ID), q(u.Name), q(u.Email), q(u.Role), q(u.TokenSHA256))
}

// mappingEntry finds key in the block mapping m: its key and value nodes.
func mappingEntry(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			for v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			return m.Content[i], v
		}
	}
	return nil, nil
}

// splitLines splits data after each newline; the last line may lack one.
func splitLines(data []byte) []string {
	var lines []string
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, string(data))
			break
		}
		lines = append(lines, string(data[:i+1]))
		data = data[i+1:]
	}
	return lines
}

// insertLines puts text before line index at (0-based) and joins.
func insertLines(lines []string, at int, text string) []byte {
	var b bytes.Buffer
	for i, l := range lines {
		if i == at {
			b.WriteString(text)
		}
		b.WriteString(l)
		if i == len(lines)-1 && !strings.HasSuffix(l, "\n") && at == len(lines) {
			b.WriteByte('\n')
		}
	}
	if at >= len(lines) {
		b.WriteString(text)
	}
	return b.Bytes()
}

func indentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }
