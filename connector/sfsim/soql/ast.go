package soql

import (
	"fmt"
	"strings"
	"time"
)

// Query is a parsed SOQL SELECT statement.
type Query struct {
	Select  []SelectItem
	From    ObjectRef
	Where   Expr // nil without WHERE
	GroupBy []*Field
	OrderBy []OrderItem
	Limit   *IntValue // nil without LIMIT
	Offset  *IntValue // nil without OFFSET
	// AllRows is set by a trailing ALL ROWS (Apex only; kept so the
	// simulator can reject or honour it).
	AllRows bool
	Pos     Pos // position of SELECT
}

// ObjectRef names the sObject after FROM, with an optional alias.
type ObjectRef struct {
	Name  string
	Alias string
	Pos   Pos
}

// SelectItem is a Field, an Aggregate or a SubQuery.
type SelectItem interface {
	selectItem()
	Position() Pos
}

// Field is a field path such as Subject or Contact.Account.Name.
type Field struct {
	Path []string
	Pos
}

// Aggregate is an aggregate function in the select list, e.g. COUNT() or
// COUNT(Id) n. Arg is nil for COUNT().
type Aggregate struct {
	Func  string // upper-case: COUNT, COUNT_DISTINCT, MIN, MAX, SUM, AVG
	Arg   *Field
	Alias string
	Pos
}

// SubQuery is a child relationship query in the select list:
// (SELECT Id FROM Cases).
type SubQuery struct {
	Query *Query
	Pos
}

func (*Field) selectItem()     {}
func (*Aggregate) selectItem() {}
func (*SubQuery) selectItem()  {}

// String returns the dotted path.
func (f *Field) String() string { return strings.Join(f.Path, ".") }

// OrderItem is one ORDER BY key. Nulls default to first for ascending and
// last for descending order, as in Salesforce.
type OrderItem struct {
	Field     *Field
	Desc      bool
	NullsLast bool
}

// Expr is a WHERE condition: *Logical, *Not or *Compare.
type Expr interface{ expr() }

// Logical is a chain of conditions joined by one operator (SOQL does not let
// AND and OR mix without parentheses).
type Logical struct {
	Op    string // AND or OR
	Terms []Expr
}

// Not negates a condition.
type Not struct {
	X   Expr
	Pos Pos
}

// Compare is field OP value. Op is one of = != < <= > >= LIKE IN NOT IN
// INCLUDES EXCLUDES; for the list operators Value is a *ListValue.
type Compare struct {
	Field *Field
	Op    string
	Value Value
	Pos   Pos // position of the operator
}

func (*Logical) expr() {}
func (*Not) expr()     {}
func (*Compare) expr() {}

// Value is a literal: *StringValue, *NumberValue, *BoolValue, *NullValue,
// *DateValue, *DateTimeValue, *DateLiteral or *ListValue.
type Value interface {
	value()
	Position() Pos
	// Text is the literal as written (strings without quotes).
	Text() string
}

// StringValue is a quoted string. LIKE escapes (\% and \_) keep their
// backslash.
type StringValue struct {
	V string
	Pos
}

// NumberValue is a number literal.
type NumberValue struct {
	V     float64
	Raw   string
	IsInt bool
	Pos
}

// IntValue is a non-negative integer (LIMIT, OFFSET).
type IntValue struct {
	V   int
	Pos Pos
}

// BoolValue is TRUE or FALSE.
type BoolValue struct {
	V bool
	Pos
}

// NullValue is NULL.
type NullValue struct{ Pos }

// DateValue is an unquoted date such as 2024-06-01.
type DateValue struct {
	T   time.Time
	Raw string
	Pos
}

// DateTimeValue is an unquoted date-time such as 2024-06-01T09:00:00Z.
type DateTimeValue struct {
	T   time.Time
	Raw string
	Pos
}

// DateLiteral is a relative date such as TODAY or LAST_N_DAYS:7.
type DateLiteral struct {
	Name string // upper-case
	N    int
	Pos
}

// ListValue is a parenthesised list for IN, NOT IN, INCLUDES, EXCLUDES.
type ListValue struct {
	Items []Value
	Pos
}

func (*StringValue) value()   {}
func (*NumberValue) value()   {}
func (*BoolValue) value()     {}
func (*NullValue) value()     {}
func (*DateValue) value()     {}
func (*DateTimeValue) value() {}
func (*DateLiteral) value()   {}
func (*ListValue) value()     {}

// Text returns the value.
func (v *StringValue) Text() string { return v.V }

// Text returns the literal as written.
func (v *NumberValue) Text() string { return v.Raw }

// Text returns true or false.
func (v *BoolValue) Text() string { return fmt.Sprint(v.V) }

// Text returns null.
func (v *NullValue) Text() string { return "null" }

// Text returns the literal as written.
func (v *DateValue) Text() string { return v.Raw }

// Text returns the literal as written.
func (v *DateTimeValue) Text() string { return v.Raw }

// Text returns the literal as written.
func (v *DateLiteral) Text() string {
	if strings.Contains(v.Name, "_N_") {
		return fmt.Sprintf("%s:%d", v.Name, v.N)
	}
	return v.Name
}

// Text returns the items, comma separated.
func (v *ListValue) Text() string {
	parts := make([]string, len(v.Items))
	for i, it := range v.Items {
		parts[i] = it.Text()
	}
	return "(" + strings.Join(parts, ",") + ")"
}

// Error is a parse error. Code is MALFORMED_QUERY or MALFORMED_SEARCH.
type Error struct {
	Code string
	Pos  Pos
	Msg  string
	// NoCaret marks messages Salesforce sends without the query and caret
	// (e.g. "No search term found...").
	NoCaret bool
}

func (e *Error) Error() string {
	if e.NoCaret {
		return e.Code + ": " + e.Msg
	}
	return fmt.Sprintf("%s: Row:%d:Column:%d: %s", e.Code, e.Pos.Line, e.Pos.Col, e.Msg)
}

// Message returns the error as Salesforce words it for the query src.
func (e *Error) Message(src string) string {
	if e.NoCaret {
		return e.Msg
	}
	return Caret(src, e.Pos, e.Msg)
}

// Caret formats msg the way Salesforce reports query errors: a newline, the
// query line that holds pos, a caret under the column, then
// "ERROR at Row:R:Column:C" and the message.
func Caret(src string, pos Pos, msg string) string {
	lines := strings.Split(src, "\n")
	line := ""
	if pos.Line >= 1 && pos.Line <= len(lines) {
		line = strings.TrimRight(lines[pos.Line-1], "\r")
	}
	col := pos.Col
	if col < 1 {
		col = 1
	}
	return fmt.Sprintf("\n%s\n%s^\nERROR at Row:%d:Column:%d\n%s", line, strings.Repeat(" ", col-1), pos.Line, col, msg)
}
