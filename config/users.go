package config

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// userKeys are the keys of one auth.users entry.
func userKeys() []string {
	return []string{"id", "name", "email", "role", "token_sha256", "skills", "capacity"}
}

// users decodes auth.users and checks each user.
func (d *decoder) users(v *yaml.Node) {
	entries, ok := d.mappingList(v, usersPath, "users", maxUsers, " with id, name, email, role and token_sha256")
	if !ok {
		return
	}
	type first struct {
		id   string
		line int
	}
	firstID := map[string]int{}      // id -> line
	firstToken := map[string]first{} // token -> its first user
	users := make([]User, 0, len(entries))
	for _, e := range entries {
		path, it, m := e.path, e.node, e.m
		var u User
		fields := map[string]*string{"id": &u.ID, "name": &u.Name, "email": &u.Email, "role": &u.Role, "token_sha256": &u.TokenSHA256}
		pos := map[string]origin{}
		d.keys(m, path, func(name string, ko origin, val *yaml.Node) {
			if d.userRouting(&u, path, name, val) {
				return
			}
			dst, ok := fields[name]
			if !ok {
				d.unknownKey(ko, path, name, userKeys())
				return
			}
			r := resolve(val)
			if r.Kind != yaml.ScalarNode {
				d.at(nodeOrigin(val), path+"."+name, "expected a string, got "+describe(r))
				return
			}
			if !isNull(r) {
				*dst = r.Value
			}
			pos[name] = nodeOrigin(val)
		})
		var missing []string
		for _, req := range []string{"id", "role", "token_sha256"} {
			if _, ok := pos[req]; !ok {
				missing = append(missing, req)
			}
		}
		if len(missing) > 0 {
			d.at(nodeOrigin(it), path, "missing "+strings.Join(missing, ", "))
		}
		if o, ok := pos["id"]; ok {
			switch {
			case u.ID == "":
				d.at(o, path+".id", "must not be empty")
			case strings.ContainsFunc(u.ID, func(r rune) bool { return r == '/' || unicode.IsSpace(r) || unicode.IsControl(r) }):
				d.at(o, path+".id", "must not contain spaces or slashes, got "+quote(u.ID))
			default:
				if line, dup := firstID[u.ID]; dup {
					d.at(o, path+".id", fmt.Sprintf("duplicate user id %s (first at line %d)", quote(u.ID), line))
				} else {
					firstID[u.ID] = o.line
				}
			}
		}
		if o, ok := pos["role"]; ok {
			if msg := checkOneOf(RoleAgent, RoleSupervisor, RoleIntegration)(u.Role); msg != "" {
				d.at(o, path+".role", msg)
			}
		}
		if o, ok := pos["email"]; ok && u.Email != "" {
			if a, err := mail.ParseAddress(u.Email); err != nil || a.Name != "" || a.Address != u.Email {
				d.at(o, path+".email", "must be a plain email address, got "+quote(u.Email))
			}
		}
		if o, ok := pos["token_sha256"]; ok {
			u.TokenSHA256 = strings.ToLower(u.TokenSHA256)
			if !isSHA256Hex(u.TokenSHA256) {
				// The value is not echoed: it may be a pasted raw token.
				d.at(o, path+".token_sha256", fmt.Sprintf(
					"must be the 64 hex characters of the token's SHA-256 (see `carebridge token hash`), got %d characters",
					len(u.TokenSHA256)))
			} else if f, dup := firstToken[u.TokenSHA256]; dup {
				d.at(o, path+".token_sha256", fmt.Sprintf("same token as user %s (line %d)", quote(f.id), f.line))
			} else {
				firstToken[u.TokenSHA256] = first{u.ID, o.line}
			}
		}
		users = append(users, u)
	}
	d.cfg.Auth.Users = users
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}
