package care

import (
	"maps"
	"strings"
	"time"
)

// Clock tells the time. Tests inject one to cross the grace period without
// sleeping.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// Policy holds the rules that depend on configuration.
type Policy struct {
	// Grace is how long a done case stays open for new customer messages.
	// Zero closes a done case at once.
	Grace time.Duration
	// Limits bound what one write may carry; zero fields take the defaults
	// of SPEC §12.
	Limits Limits
	// SLA are the SLA policies, first match first (sla.go).
	SLA SLAPolicies
}

// IsOpen reports whether c takes new messages of its (customer, profile)
// pair at time now: in a working status, or done within the grace period.
func (p Policy) IsOpen(c *Case, now time.Time) bool {
	if c.Status.Working() {
		return true
	}
	return c.Status == StatusDone && now.Before(c.DoneAt.Add(p.Grace))
}

// CommunityState is how the Community side sees a case's messages.
type CommunityState string

// Community states.
const (
	CommunityOpen   CommunityState = "open"
	CommunityClosed CommunityState = "closed"
)

// Community tells whether Community must treat the case's messages as locked
// (handled in Care) and how it counts the case. It follows the same openness
// as IsOpen: working statuses and done within grace lock; done after grace,
// spam and deleted unlock.
func (p Policy) Community(c *Case, now time.Time) (locked bool, state CommunityState) {
	if p.IsOpen(c, now) {
		return true, CommunityOpen
	}
	return false, CommunityClosed
}

// LockedForReply reports whether Care replies (via care) are locked because
// the case is worked in Salesforce (and its Salesforce case still exists).
func LockedForReply(c *Case) bool { return c.Salesforce.CaseID != "" && c.Salesforce.DeletedAt == nil }

// ProfileLockReason says why a case's profile can no longer be set.
type ProfileLockReason string

// Profile lock reasons.
const (
	// ProfileLockOutbound: the case has an outbound message (a reply was
	// sent from its profile), however far back in the conversation.
	ProfileLockOutbound ProfileLockReason = "outbound_message"
	// ProfileLockDeleted: a deleted case does not change.
	ProfileLockDeleted ProfileLockReason = "deleted"
)

// ProfileLock reports why c's profile is fixed, "" while its assignee may
// still set it. ApplyPatch refuses by it, and the case's JSON carries it,
// so a client never guesses from the messages it happens to have loaded.
func ProfileLock(c *Case) ProfileLockReason {
	switch {
	case c.Status == StatusDeleted:
		return ProfileLockDeleted
	case c.HasOutbound:
		return ProfileLockOutbound
	}
	return ""
}

// CaseEvent tells what an incoming message did to a case.
type CaseEvent string

// Case events of ingest.
const (
	EventAppended CaseEvent = "appended"
	EventReopened CaseEvent = "reopened"
	EventNone     CaseEvent = "none"
)

// Join adds message m to the open case c, as ingest does: the case's
// timestamps move, and an inbound message reopens a pending case (it waited
// for the customer) or a done case within grace. The caller has checked that
// c is open.
func (p Policy) Join(c *Case, m *Message, now time.Time) CaseEvent {
	m.CaseID = c.ID
	c.UpdatedAt = now
	if m.Kind == KindNote {
		return EventAppended
	}
	if m.Direction == Outbound {
		c.HasOutbound = true
		return EventAppended
	}
	if m.SentAt.After(c.LastCustomerMessageAt) {
		c.LastCustomerMessageAt = m.SentAt
	}
	if c.Status == StatusPending || c.Status == StatusDone {
		c.Status = StatusOpen
		c.DoneAt = time.Time{}
		return EventReopened
	}
	return EventAppended
}

// Users looks up Care users by id.
type Users interface {
	User(id string) (User, bool)
}

// Optional is a JSON field that may be absent, null or set.
type Optional[T any] struct {
	Set   bool // present in the request
	Null  bool // present and null
	Value T
}

// CasePatch is a partial update of a case. Absent fields are left alone.
type CasePatch struct {
	Status    Optional[Status]    `json:"status"`
	Priority  Optional[Priority]  `json:"priority"`
	Sentiment Optional[Sentiment] `json:"sentiment"`
	Assignee  Optional[string]    `json:"assignee"` // null unassigns
	ProfileID Optional[string]    `json:"profile_id"`
	Fields    map[string]*string  `json:"fields"` // merged; a null value removes
}

// Empty reports whether the patch changes nothing.
func (p CasePatch) Empty() bool {
	return !p.Status.Set && !p.Priority.Set && !p.Sentiment.Set && !p.Assignee.Set &&
		!p.ProfileID.Set && len(p.Fields) == 0
}

// CheckActsAsAgent refuses users that may not work cases (integrations).
func CheckActsAsAgent(actor User) error {
	if !actor.IsAgent() {
		return Errorf(CodeForbidden, "role %s may not act as an agent", actor.Role)
	}
	return nil
}

// CheckWritesForCustomers refuses users that may not write a message in a
// customer's name (ingest, escalate from Community): only integration users
// and supervisors may; agents may not.
func CheckWritesForCustomers(actor User) error {
	if actor.Role != RoleIntegration && actor.Role != RoleSupervisor {
		return Errorf(CodeForbidden, "role %s may not write messages in a customer's name", actor.Role)
	}
	return nil
}

// CheckReadsCustomers refuses users that may not read customers or case
// views (integrations).
func CheckReadsCustomers(actor User) error {
	if !actor.IsAgent() {
		return Errorf(CodeForbidden, "role %s reads no customers or case views", actor.Role)
	}
	return nil
}

// ApplyPatch checks actor's right to make patch and applies it to c at time
// now. Assignee changes come first, so one patch may assign a case and mark
// it done. It changes c only when it returns nil.
func (p Policy) ApplyPatch(actor User, users Users, c *Case, patch CasePatch, now time.Time) error {
	if err := CheckActsAsAgent(actor); err != nil {
		return err
	}
	if c.Status == StatusDeleted && !patch.Empty() {
		onlyDelete := patch.Status.Set && patch.Status.Value == StatusDeleted &&
			!patch.Priority.Set && !patch.Sentiment.Set && !patch.Assignee.Set && !patch.ProfileID.Set && len(patch.Fields) == 0
		if !onlyDelete {
			return Errorf(CodeInvalidTransition, "a deleted case cannot change")
		}
		return nil
	}
	next := *c
	next.Fields = maps.Clone(c.Fields)
	if next.Fields == nil {
		next.Fields = map[string]string{}
	}
	if patch.Assignee.Set {
		id := patch.Assignee.Value
		if patch.Assignee.Null || id == "" {
			next.Assignee = ""
		} else {
			u, ok := users.User(id)
			if !ok {
				return Errorf(CodeInvalidArgument, "assignee %q is not a Care user", id)
			}
			if !u.IsAgent() {
				return Errorf(CodeInvalidArgument, "assignee %q is an integration user and cannot work cases", id)
			}
			next.Assignee = id
			if next.Status == StatusNew && c.Assignee != id {
				next.Status = StatusOpen
			}
		}
	}
	if patch.Priority.Set {
		if patch.Priority.Null || !patch.Priority.Value.Valid() {
			return Errorf(CodeInvalidArgument, "priority must be one of urgent, high, medium, low")
		}
		next.Priority = patch.Priority.Value
	}
	if patch.Sentiment.Set {
		if patch.Sentiment.Null || !patch.Sentiment.Value.Valid() {
			return Errorf(CodeInvalidArgument, "sentiment must be one of positive, negative, neutral, none")
		}
		next.Sentiment = patch.Sentiment.Value
	}
	if patch.ProfileID.Set {
		profile := patch.ProfileID.Value
		if patch.ProfileID.Null {
			profile = ""
		}
		if profile != c.ProfileID {
			if next.Assignee != actor.ID {
				return Errorf(CodeNotAssigned, "only the case's assignee may set its profile")
			}
			if ProfileLock(c) == ProfileLockOutbound {
				return Errorf(CodeProfileLocked, "the profile cannot change once the case has an outbound message")
			}
			next.ProfileID = profile
		}
	}
	for name, v := range patch.Fields {
		if strings.TrimSpace(name) == "" {
			return Errorf(CodeInvalidArgument, "field names must not be empty")
		}
		if v == nil {
			delete(next.Fields, name)
		} else {
			next.Fields[name] = *v
		}
	}
	if len(patch.Fields) > 0 && len(next.Fields) > len(c.Fields) {
		if err := p.Limits.CheckCaseFields(next.Fields); err != nil {
			return err
		}
	}
	if patch.Status.Set {
		if patch.Status.Null || !patch.Status.Value.Valid() {
			return Errorf(CodeInvalidArgument, "status must be one of new, open, pending, on_hold, done, spam, deleted")
		}
		if err := p.setStatus(&next, patch.Status.Value, true, now); err != nil {
			return err
		}
	}
	next.UpdatedAt = now
	*c = next
	return nil
}

// SetStatus applies a status change an agent's action makes (marking done
// needs an assignee). It changes c only when it returns nil.
func (p Policy) SetStatus(c *Case, s Status, now time.Time) error {
	return p.changeStatus(c, s, true, now)
}

// SetStatusFromSalesforce applies a status that came from Salesforce: the
// same transition rule as an agent's change, but no assignee is needed to
// mark it done.
func (p Policy) SetStatusFromSalesforce(c *Case, s Status, now time.Time) error {
	return p.changeStatus(c, s, false, now)
}

func (p Policy) changeStatus(c *Case, s Status, needAssignee bool, now time.Time) error {
	if !s.Valid() {
		return Errorf(CodeInvalidArgument, "unknown status %q", s)
	}
	next := *c
	if err := p.setStatus(&next, s, needAssignee, now); err != nil {
		return err
	}
	next.UpdatedAt = now
	*c = next
	return nil
}

func (p Policy) setStatus(c *Case, s Status, needAssignee bool, now time.Time) error {
	if c.Status == s {
		return nil
	}
	if c.Status == StatusDeleted {
		return Errorf(CodeInvalidTransition, "a deleted case cannot change status")
	}
	if s == StatusDone && needAssignee && c.Assignee == "" {
		return Errorf(CodeCaseUnassigned, "assign the case before marking it done")
	}
	c.Status = s
	if s == StatusDone {
		c.DoneAt = now
	} else {
		c.DoneAt = time.Time{}
	}
	return nil
}

// CheckReply checks that actor may send a reply on c.
func CheckReply(actor User, c *Case, via Via) error {
	if err := CheckActsAsAgent(actor); err != nil {
		return err
	}
	if c.Status == StatusDeleted {
		return Errorf(CodeInvalidTransition, "a deleted case takes no replies")
	}
	if c.Assignee != actor.ID {
		return Errorf(CodeNotAssigned, "only the case's assignee may reply")
	}
	if c.ProfileID == "" {
		return Errorf(CodeNoProfile, "set the case's profile before replying")
	}
	if via != ViaSalesforce && LockedForReply(c) {
		return Errorf(CodeLockedToSalesforce, "the case is worked in Salesforce (case %s); reply there", c.Salesforce.CaseNumber)
	}
	return nil
}
