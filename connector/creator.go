package connector

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

// Which token a record is created under (SPEC §6 "Which token", §11
// "Rights per token").

// CreatedAs names the token a record was created under.
type CreatedAs string

const (
	// CreatedAsUser: under the escalating agent's own Salesforce token.
	CreatedAsUser CreatedAs = "user"
	// CreatedAsDefault: under the default token (the agent is not
	// connected, or may not create a mapped field).
	CreatedAsDefault CreatedAs = "default"
)

// Creation tells how a record was created; the create routes answer it.
type Creation struct {
	As     CreatedAs `json:"created_as"`
	Reason string    `json:"reason,omitempty"` // why not as the user
}

// rightsTTL is how long a user's describe decides their rights.
const rightsTTL = time.Hour

// rightsKey is one Salesforce user and one object.
type rightsKey struct{ sfUser, object string }

// rights is a describe of an object as one user, for the mapping it was
// read for.
type rights struct {
	m    *mapping.Mapping
	at   time.Time
	info *mapping.ObjectInfo
}

// createAs runs create under the token a record of section sec is created
// with: the actor's own healthy token when its Salesforce user may create
// every field the section maps (plus extra and the overrides), checked
// against describe as that user; else the default token, and the Creation
// says why. create may run more than once (the pool retries another token
// after an Auth failure); it decides nothing but the record.
func (e *Escalator) createAs(ctx context.Context, actor care.User, m *mapping.Mapping, sec *mapping.ObjectMapping,
	overrides map[string]any, extra []string, create func(*tokens.Conn) error) (Creation, error) {
	var how Creation
	fallback := false
	err := e.Tokens.DoForUser(ctx, actor.ID, func(conn *tokens.Conn) error {
		if conn.Info.Kind != tokens.KindUser || conn.Info.UserID != actor.ID {
			how = Creation{As: CreatedAsDefault, Reason: "you have no healthy Salesforce connection of your own"}
			return create(conn)
		}
		denied, err := e.deniedFields(ctx, conn, m, sec, overrides, extra)
		if err != nil {
			return err
		}
		if len(denied) > 0 {
			how = Creation{As: CreatedAsDefault, Reason: fmt.Sprintf("Salesforce user %s may not create %s %s",
				conn.Info.SFUsername, sec.Object, strings.Join(denied, ", "))}
			fallback = true
			return nil
		}
		how = Creation{As: CreatedAsUser}
		return create(conn)
	})
	if err != nil || !fallback {
		return how, err
	}
	err = e.Tokens.DoBackground(ctx, func(conn *tokens.Conn) error {
		if conn.Info.Kind != tokens.KindDefault {
			return care.Errorf(care.CodeSalesforceRejected, "%s, and no default token is connected to create it instead", how.Reason)
		}
		return create(conn)
	})
	return how, err
}

// deniedFields lists the fields of a record of sec that the connection's
// Salesforce user may not create. The user's describe is cached per user
// and object; a mapping reload or an hour drops it.
func (e *Escalator) deniedFields(ctx context.Context, conn *tokens.Conn, m *mapping.Mapping, sec *mapping.ObjectMapping,
	overrides map[string]any, extra []string) ([]string, error) {
	key := rightsKey{sfUser: conn.Info.SFUserID, object: sec.Object}
	if key.sfUser == "" {
		key.sfUser = "care:" + conn.Info.UserID
	}
	now := e.now()
	e.rightsMu.Lock()
	r, ok := e.rights[key]
	e.rightsMu.Unlock()
	if !ok || r.m != m || now.Sub(r.at) >= rightsTTL {
		// Describe afresh as that user: the client's own cache may be
		// older than the mapping or the user's rights.
		conn.Client.InvalidateDescribe(sec.Object)
		info, err := e.describe(ctx, conn, sec.Object)
		if err != nil {
			return nil, err
		}
		r = rights{m: m, at: now, info: info}
		e.rightsMu.Lock()
		if e.rights == nil {
			e.rights = map[rightsKey]rights{}
		}
		e.rights[key] = r
		e.rightsMu.Unlock()
	}
	names := make([]string, 0, len(sec.Fields)+len(overrides)+len(extra)+1)
	for _, f := range sec.Fields {
		names = append(names, f.Name)
	}
	if sec.ExternalIDField != "" {
		names = append(names, sec.ExternalIDField)
	}
	for name := range overrides {
		names = append(names, name)
	}
	names = append(names, extra...)
	var denied []string
	for _, name := range names {
		if f, ok := r.info.Field(name); ok && !f.Createable && !slices.Contains(denied, f.Name) {
			denied = append(denied, f.Name)
		}
	}
	slices.Sort(denied)
	return denied, nil
}
