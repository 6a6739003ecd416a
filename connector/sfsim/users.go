package sfsim

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Simulated users: their profile (field-level security) and their org. A
// user of another org logs in through the same login URL, as with "other
// orgs one login away": its identity carries another organization id and
// its tokens otherwise work.

// Orgs a simulated user can belong to.
const (
	OrgHome  = "home"
	OrgOther = "other"
)

// userMeta is what the simulator knows of a user beyond its User record.
type userMeta struct {
	profile string
	orgID   string
}

// userDir maps user ids to their profile and org. It has its own lock:
// identity URLs are built while the store lock is held.
type userDir struct {
	mu      sync.Mutex
	byID    map[string]userMeta
	homeOrg string
}

func newUserDir(homeOrg string) *userDir {
	return &userDir{byID: map[string]userMeta{}, homeOrg: homeOrg}
}

func (d *userDir) set(userID string, m userMeta) {
	d.mu.Lock()
	d.byID[userID] = m
	d.mu.Unlock()
}

// kept lists the users the directory knows, for the state file.
func (d *userDir) kept() []userState {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]userState, 0, len(d.byID))
	for id, m := range d.byID {
		out = append(out, userState{ID: id, Profile: m.profile, OrgID: m.orgID})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// get returns a user's profile and org; unknown users are standard users
// of the home org.
func (d *userDir) get(userID string) userMeta {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m, ok := d.byID[userID]; ok {
		return m
	}
	return userMeta{profile: ProfileStandard, orgID: d.homeOrg}
}

// otherOrgID is the organization id of users of the other org.
var otherOrgID = fixedID("00D", 2)

// OtherOrgID is the organization id of users created with Org "other".
func (s *Server) OtherOrgID() string { return otherOrgID }

// NewUser describes a user for CreateUserWith. Profile is ProfileStandard
// (default) or ProfileRestricted; Org is OrgHome (default) or OrgOther.
type NewUser struct {
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Profile   string `json:"profile"`
	Org       string `json:"org"`
}

// CreateUserWith adds a user with a profile and an org, as an admin would
// in Setup (or, for OrgOther, an admin of another org). It fails when the
// username is taken.
func (s *Server) CreateUserWith(nu NewUser) (User, error) {
	if nu.Username == "" || nu.LastName == "" {
		return User{}, errors.New("sfsim: a user needs a username and a last name")
	}
	meta := userMeta{profile: nu.Profile, orgID: s.orgID}
	switch nu.Profile {
	case "":
		meta.profile = ProfileStandard
	case ProfileStandard, ProfileRestricted:
	default:
		return User{}, fmt.Errorf("sfsim: unknown profile %q (want %s or %s)", nu.Profile, ProfileStandard, ProfileRestricted)
	}
	switch nu.Org {
	case "", OrgHome:
	case OrgOther:
		meta.orgID = otherOrgID
	default:
		return User{}, fmt.Errorf("sfsim: unknown org %q (want %s or %s)", nu.Org, OrgHome, OrgOther)
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	if r := s.userByName(nu.Username); r != nil {
		return User{}, fmt.Errorf("sfsim: username %s is taken", nu.Username)
	}
	r := s.insertUser(nil, nu.Username, nu.FirstName, nu.LastName, nu.Email)
	s.users.set(r.id, meta)
	return s.userFrom(r), nil
}

// UserInfo is GET /__sim/users/{username}: a user, its org and profile,
// and how many live refresh tokens it holds for the connected app.
type UserInfo struct {
	ID            string `json:"id"`
	Username      string `json:"username"`
	OrgID         string `json:"org_id"`
	Profile       string `json:"profile"`
	RefreshTokens int    `json:"refresh_tokens"`
}

// UserInfo returns what the org knows of the user with that username.
func (s *Server) UserInfo(username string) (UserInfo, bool) {
	u, ok := s.User(username)
	if !ok {
		return UserInfo{}, false
	}
	return UserInfo{
		ID: u.ID, Username: u.Username, OrgID: u.OrgID, Profile: u.Profile,
		RefreshTokens: s.auth.refreshTokens(u.ID),
	}, true
}

// orgOf is the organization id of a user.
func (s *Server) orgOf(userID string) string { return s.users.get(userID).orgID }
