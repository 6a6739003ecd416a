package care

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
	"time"
)

// View is one of the default case views.
type View string

// The eight default views. ViewAll (no view given) lists every case the
// caller may see except deleted ones.
const (
	ViewAll       View = ""
	ViewInbox     View = "inbox"
	ViewNew       View = "new"
	ViewMyOpen    View = "my_open"
	ViewMyPending View = "my_pending"
	ViewMyOnHold  View = "my_on_hold"
	ViewDone      View = "done"
	ViewMentions  View = "my_mentions"
	ViewSpam      View = "spam"
)

// Views lists the default views in the order the console shows them.
var Views = []View{ViewInbox, ViewNew, ViewMyOpen, ViewMyPending, ViewMyOnHold, ViewDone, ViewMentions, ViewSpam}

// SortKey is what a listing is ordered by.
type SortKey byte

// Sort keys. Ties are broken by case id.
const (
	SortCreated     SortKey = 'c' // creation time (case ids grow with it)
	SortLastMessage SortKey = 'l' // last customer message
	SortPriority    SortKey = 'p' // priority rank, urgent = 0
	SortNoteTime    SortKey = 'n' // time of the latest note mentioning the caller
)

// Sort is a sort key and a direction.
type Sort struct {
	Key  SortKey
	Desc bool
}

// sortNames are the public names of the sort orders. priority_desc lists the
// most urgent first, which is the ascending rank.
var sortNames = map[string]Sort{
	"created_asc":       {SortCreated, false},
	"created_desc":      {SortCreated, true},
	"last_message_asc":  {SortLastMessage, false},
	"last_message_desc": {SortLastMessage, true},
	"priority_desc":     {SortPriority, false},
	"priority_asc":      {SortPriority, true},
	"sla_due_asc":       {SortSLADue, false},
}

// ParseSort parses a public sort name.
func ParseSort(name string) (Sort, bool) {
	s, ok := sortNames[name]
	return s, ok
}

// CaseQuery is a request for a page of cases.
type CaseQuery struct {
	View      View
	Sort      string // "" = the view's default
	Limit     int    // 0 = 50
	Cursor    string
	Status    Status
	Priority  Priority
	Assignee  string // user id, or "none" for unassigned
	Platform  string
	ProfileID string
	// Q searches customer names, usernames and message text: every word
	// must match, the last one as a prefix, case-insensitively.
	Q string
	// SLA is "", "breached" or "due_soon" (sla.go).
	SLA string
	// SavedView is the id of a saved view: its filters and sort replace
	// the query's (the caller must own it or it must be shared).
	SavedView string
}

// Page limits.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 500
)

// Scope tells which cases a plan's index scan covers.
type Scope struct {
	All        bool   // every case
	Unassigned bool   // cases with no assignee
	Assignee   string // cases assigned to this user
	MentionsOf string // cases with a note mentioning this user (ordered by note time)
}

// Plan is a resolved case query: which index to scan, which statuses, the
// order, and the filters left to apply to each case.
type Plan struct {
	Scope    Scope
	Statuses []Status // the statuses a case must have
	Sort     Sort
	Limit    int
	After    *Position // resume after this position
	Priority Priority
	Platform string
	Profile  string
	Empty    bool // the filters exclude everything
	SLA      SLAFilter
}

// Position is a case's place in a sort order.
type Position struct {
	Value uint64
	ID    int64
}

// PlanQuery resolves q for actor: checks the view's visibility, picks the
// default sort, and narrows the plan by the filters.
func PlanQuery(actor User, q CaseQuery) (Plan, error) {
	if !actor.IsAgent() {
		return Plan{}, Errorf(CodeForbidden, "role %s has no case views", actor.Role)
	}
	var p Plan
	sup := actor.Role == RoleSupervisor
	me := Scope{Assignee: actor.ID}
	working := []Status{StatusNew, StatusOpen, StatusPending, StatusOnHold}
	switch q.View {
	case ViewAll:
		p.Scope = Scope{All: true}
		p.Statuses = []Status{StatusNew, StatusOpen, StatusPending, StatusOnHold, StatusDone}
		if sup {
			p.Statuses = append(p.Statuses, StatusSpam)
		}
		p.Sort = Sort{SortCreated, true}
	case ViewInbox:
		p.Scope, p.Statuses, p.Sort = me, working, Sort{SortCreated, false}
		if sup {
			p.Scope = Scope{All: true}
		}
	case ViewNew:
		p.Scope, p.Statuses, p.Sort = Scope{Unassigned: true}, []Status{StatusNew}, Sort{SortCreated, false}
	case ViewMyOpen:
		p.Scope, p.Statuses, p.Sort = me, []Status{StatusOpen}, Sort{SortLastMessage, true}
	case ViewMyPending:
		p.Scope, p.Statuses, p.Sort = me, []Status{StatusPending}, Sort{SortLastMessage, false}
	case ViewMyOnHold:
		p.Scope, p.Statuses, p.Sort = me, []Status{StatusOnHold}, Sort{SortLastMessage, true}
	case ViewDone:
		p.Scope, p.Statuses, p.Sort = me, []Status{StatusDone}, Sort{SortCreated, true}
		if sup {
			p.Scope = Scope{All: true}
		}
	case ViewMentions:
		p.Scope, p.Sort = Scope{MentionsOf: actor.ID}, Sort{SortNoteTime, true}
		p.Statuses = []Status{StatusNew, StatusOpen, StatusPending, StatusOnHold, StatusDone}
		if sup {
			p.Statuses = append(p.Statuses, StatusSpam)
		}
	case ViewSpam:
		if !sup {
			return Plan{}, Errorf(CodeForbidden, "only supervisors see the spam view")
		}
		p.Scope, p.Statuses, p.Sort = Scope{All: true}, []Status{StatusSpam}, Sort{SortCreated, true}
	default:
		return Plan{}, Errorf(CodeInvalidArgument, "unknown view %q", q.View)
	}
	if q.Sort != "" {
		s, ok := ParseSort(q.Sort)
		if !ok {
			return Plan{}, Errorf(CodeInvalidArgument, "unknown sort %q", q.Sort)
		}
		p.Sort = s
	}
	switch {
	case q.Limit < 0 || q.Limit > MaxPageLimit:
		return Plan{}, Errorf(CodeInvalidArgument, "limit must be between 1 and %d", MaxPageLimit)
	case q.Limit == 0:
		p.Limit = DefaultPageLimit
	default:
		p.Limit = q.Limit
	}
	if q.Status != "" {
		if !q.Status.Valid() {
			return Plan{}, Errorf(CodeInvalidArgument, "unknown status %q", q.Status)
		}
		if q.Status == StatusSpam && !sup {
			return Plan{}, Errorf(CodeForbidden, "only supervisors see spam cases")
		}
		if slices.Contains(p.Statuses, q.Status) || (q.View == ViewAll && q.Status == StatusDeleted) {
			p.Statuses = []Status{q.Status}
		} else {
			p.Empty = true
		}
	}
	if q.Priority != "" {
		if !q.Priority.Valid() {
			return Plan{}, Errorf(CodeInvalidArgument, "unknown priority %q", q.Priority)
		}
		p.Priority = q.Priority
	}
	if q.Assignee != "" {
		switch s := p.Scope; {
		case s.MentionsOf != "":
			p.Scope.Assignee = q.Assignee // filtered per case in Matches
		case s.All:
			if q.Assignee == "none" {
				p.Scope = Scope{Unassigned: true}
			} else {
				p.Scope = Scope{Assignee: q.Assignee}
			}
		case s.Unassigned:
			p.Empty = p.Empty || q.Assignee != "none"
		default:
			p.Empty = p.Empty || q.Assignee != s.Assignee
		}
	}
	p.Platform, p.Profile = q.Platform, q.ProfileID
	if err := planSLA(q, &p); err != nil {
		return Plan{}, err
	}
	if q.Cursor != "" {
		pos, err := decodeCursor(q.Cursor, p.Sort)
		if err != nil {
			return Plan{}, err
		}
		p.After = &pos
	}
	return p, nil
}

// Matches reports whether c passes the plan's per-case filters.
func (p Plan) Matches(c *Case) bool {
	if p.Priority != "" && c.Priority != p.Priority {
		return false
	}
	if p.Platform != "" && c.Platform != p.Platform {
		return false
	}
	if p.Profile != "" && c.ProfileID != p.Profile {
		return false
	}
	if !p.SLA.Matches(c) {
		return false
	}
	if p.Scope.MentionsOf != "" {
		if p.Scope.Assignee == "none" && c.Assignee != "" {
			return false
		}
		if p.Scope.Assignee != "" && p.Scope.Assignee != "none" && c.Assignee != p.Scope.Assignee {
			return false
		}
	}
	return slices.Contains(p.Statuses, c.Status)
}

// TimeKey orders times as unsigned integers (nanoseconds since 1970; earlier
// times count as 0).
func TimeKey(t time.Time) uint64 {
	if t.IsZero() || t.Before(time.Unix(0, 0)) {
		return 0
	}
	return uint64(t.UnixNano())
}

// SortValue is c's value for the sort key k (SortNoteTime is not a case
// property and answers 0).
func SortValue(c *Case, k SortKey) uint64 {
	switch k {
	case SortCreated:
		return uint64(c.ID)
	case SortLastMessage:
		return TimeKey(c.LastCustomerMessageAt)
	case SortPriority:
		return uint64(max(c.Priority.Rank(), 0))
	case SortSLADue:
		return slaSortValue(c)
	}
	return 0
}

// EncodeCursor makes the opaque cursor that resumes after pos in sort s.
func EncodeCursor(s Sort, pos Position) string {
	b := make([]byte, 18)
	b[0] = byte(s.Key)
	if s.Desc {
		b[1] = 1
	}
	binary.BigEndian.PutUint64(b[2:], pos.Value)
	binary.BigEndian.PutUint64(b[10:], uint64(pos.ID))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string, s Sort) (Position, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 18 {
		return Position{}, Errorf(CodeInvalidArgument, "cursor is not one this server gave out")
	}
	if SortKey(b[0]) != s.Key || (b[1] == 1) != s.Desc {
		return Position{}, Errorf(CodeInvalidArgument, "cursor belongs to another sort order")
	}
	return Position{Value: binary.BigEndian.Uint64(b[2:]), ID: int64(binary.BigEndian.Uint64(b[10:]))}, nil
}
