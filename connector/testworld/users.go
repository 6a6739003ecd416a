package testworld

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
)

// Clock is the tests' settable clock.
type Clock = simtest.Clock

// Users are the world's users unless WithUsers says otherwise: two agents,
// a supervisor (the default token's holder) and the Community integration.
var Users = []care.User{
	{ID: "alice", Name: "Alice Agent", Email: "alice@example.com", Role: care.RoleAgent},
	{ID: "bob", Name: "Bob Agent", Email: "bob@example.com", Role: care.RoleAgent},
	{ID: "sue", Name: "Sue Supervisor", Email: "sue@example.com", Role: care.RoleSupervisor},
	{ID: "community", Name: "Community", Email: "community@example.com", Role: care.RoleIntegration},
}

// Directory is what the world reads its users from: care.Users that can
// also list them all (as *care.Directory and the console's Users do).
type Directory interface {
	care.Users
	All() []care.User
}

// Holder is the Care user who connects the default token.
const Holder = "sue"

// Token is the bearer token of a user of the world.
func Token(userID string) string { return "tok-" + userID + "-0123456789abcdef" }

// TokenSHA256 is the hex SHA-256 of s, as auth.users[].token_sha256 holds it.
func TokenSHA256(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// Credentials are the API credentials of users, each with its Token.
func Credentials(users []care.User) []httpapi.Credential {
	creds := make([]httpapi.Credential, 0, len(users))
	for _, u := range users {
		creds = append(creds, httpapi.Credential{User: u, TokenSHA256: TokenSHA256(Token(u.ID))})
	}
	return creds
}

// NewClock returns a clock stopped at Start.
func NewClock() *Clock { return simtest.NewClock(Start) }
