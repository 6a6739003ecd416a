package care

import (
	"encoding/json"
	"sort"
)

// Directory is the set of Care users, from the config file.
type Directory struct {
	byID map[string]User
}

// NewDirectory builds a directory of users (ids are unique; config
// validation sees to that).
func NewDirectory(users []User) *Directory {
	d := &Directory{byID: make(map[string]User, len(users))}
	for _, u := range users {
		d.byID[u.ID] = u
	}
	return d
}

// User looks a user up by id.
func (d *Directory) User(id string) (User, bool) {
	u, ok := d.byID[id]
	return u, ok
}

// All returns the users sorted by id.
func (d *Directory) All() []User {
	out := make([]User, 0, len(d.byID))
	for _, u := range d.byID {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// UnmarshalJSON marks the field as present; a JSON null sets Null.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	*o = Optional[T]{Set: true}
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}
