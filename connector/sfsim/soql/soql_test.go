package soql

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseQueries(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, q *Query)
	}{
		{"simple", "SELECT Id, Subject FROM Case", func(t *testing.T, q *Query) {
			if len(q.Select) != 2 || q.From.Name != "Case" || q.Where != nil {
				t.Fatalf("got %+v", q)
			}
			if f := q.Select[1].(*Field); f.String() != "Subject" || f.Pos.Col != 12 {
				t.Fatalf("field %+v", f)
			}
		}},
		{"relationship path", "select Id, Case__r.Contact.Email from Care_Social_Post__c", func(t *testing.T, q *Query) {
			f := q.Select[1].(*Field)
			if got := strings.Join(f.Path, "|"); got != "Case__r|Contact|Email" {
				t.Fatalf("path %q", got)
			}
		}},
		{"count", "SELECT COUNT() FROM Contact WHERE LastName = 'Doe'", func(t *testing.T, q *Query) {
			a := q.Select[0].(*Aggregate)
			if a.Func != "COUNT" || a.Arg != nil {
				t.Fatalf("agg %+v", a)
			}
			c := q.Where.(*Compare)
			if c.Op != "=" || c.Value.(*StringValue).V != "Doe" {
				t.Fatalf("where %+v", c)
			}
		}},
		{"aggregate alias group by", "SELECT Status, COUNT(Id) n FROM Case GROUP BY Status", func(t *testing.T, q *Query) {
			a := q.Select[1].(*Aggregate)
			if a.Alias != "n" || a.Arg.String() != "Id" || len(q.GroupBy) != 1 {
				t.Fatalf("agg %+v group %v", a, q.GroupBy)
			}
		}},
		{"and chain with parens and not", "SELECT Id FROM Case WHERE (Status = 'New' OR Status = 'Working') AND NOT IsClosed = true AND Priority != null", func(t *testing.T, q *Query) {
			l := q.Where.(*Logical)
			if l.Op != "AND" || len(l.Terms) != 3 {
				t.Fatalf("where %+v", l)
			}
			if inner := l.Terms[0].(*Logical); inner.Op != "OR" || len(inner.Terms) != 2 {
				t.Fatalf("inner %+v", inner)
			}
			if _, ok := l.Terms[1].(*Not); !ok {
				t.Fatalf("not %T", l.Terms[1])
			}
			if _, ok := l.Terms[2].(*Compare).Value.(*NullValue); !ok {
				t.Fatalf("null %T", l.Terms[2].(*Compare).Value)
			}
		}},
		{"in and not in", "SELECT Id FROM Case WHERE Status IN ('New','Working') AND Priority NOT IN ('Low')", func(t *testing.T, q *Query) {
			l := q.Where.(*Logical)
			if c := l.Terms[0].(*Compare); c.Op != "IN" || len(c.Value.(*ListValue).Items) != 2 {
				t.Fatalf("in %+v", c)
			}
			if c := l.Terms[1].(*Compare); c.Op != "NOT IN" {
				t.Fatalf("not in %+v", c)
			}
		}},
		{"datetime literals", "SELECT Id FROM Case WHERE SystemModstamp > 2024-06-01T09:00:00Z AND CreatedDate <= 2024-06-01T10:00:00.123+01:00 AND ClosedDate < 2024-06-01T09:00:00.000+0000", func(t *testing.T, q *Query) {
			l := q.Where.(*Logical)
			want := []time.Time{
				time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC),
				time.Date(2024, 6, 1, 9, 0, 0, 123e6, time.UTC),
				time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC),
			}
			for i, w := range want {
				got := l.Terms[i].(*Compare).Value.(*DateTimeValue).T
				if !got.Equal(w) {
					t.Errorf("term %d: %v, want %v", i, got, w)
				}
			}
		}},
		{"date, number, boolean, relative date", "SELECT Id FROM Lead WHERE Birthdate = 2010-01-01 AND NumberOfEmployees >= -5 AND Score__c < 1.5 AND IsConverted = FALSE AND CreatedDate = LAST_N_DAYS:7", func(t *testing.T, q *Query) {
			l := q.Where.(*Logical)
			if v := l.Terms[0].(*Compare).Value.(*DateValue); v.Raw != "2010-01-01" {
				t.Errorf("date %+v", v)
			}
			if v := l.Terms[1].(*Compare).Value.(*NumberValue); v.V != -5 || !v.IsInt {
				t.Errorf("int %+v", v)
			}
			if v := l.Terms[2].(*Compare).Value.(*NumberValue); v.V != 1.5 || v.IsInt {
				t.Errorf("float %+v", v)
			}
			if v := l.Terms[3].(*Compare).Value.(*BoolValue); v.V {
				t.Errorf("bool %+v", v)
			}
			if v := l.Terms[4].(*Compare).Value.(*DateLiteral); v.Name != "LAST_N_DAYS" || v.N != 7 {
				t.Errorf("relative %+v", v)
			}
		}},
		{"like with escapes", `SELECT Id FROM Contact WHERE Email LIKE '%\_x@%' AND LastName = 'O\'Brien'`, func(t *testing.T, q *Query) {
			l := q.Where.(*Logical)
			if v := l.Terms[0].(*Compare).Value.(*StringValue).V; v != `%\_x@%` {
				t.Errorf("like %q", v)
			}
			if v := l.Terms[1].(*Compare).Value.(*StringValue).V; v != "O'Brien" {
				t.Errorf("escaped quote %q", v)
			}
		}},
		{"order limit offset", "SELECT Id FROM Case ORDER BY SystemModstamp ASC, Id DESC NULLS FIRST, Subject LIMIT 10 OFFSET 20", func(t *testing.T, q *Query) {
			if len(q.OrderBy) != 3 || q.OrderBy[0].Desc || q.OrderBy[0].NullsLast || !q.OrderBy[1].Desc || q.OrderBy[1].NullsLast {
				t.Fatalf("order %+v", q.OrderBy)
			}
			if q.Limit.V != 10 || q.Offset.V != 20 {
				t.Fatalf("limit %v offset %v", q.Limit.V, q.Offset.V)
			}
		}},
		{"desc defaults to nulls last", "SELECT Id FROM Case ORDER BY ClosedDate DESC", func(t *testing.T, q *Query) {
			if !q.OrderBy[0].NullsLast {
				t.Fatal("DESC should put nulls last")
			}
		}},
		{"child subquery", "SELECT Id, (SELECT Id, Content__c FROM Care_Social_Posts__r ORDER BY Posted__c) FROM Case", func(t *testing.T, q *Query) {
			sq := q.Select[1].(*SubQuery)
			if sq.Query.From.Name != "Care_Social_Posts__r" || len(sq.Query.OrderBy) != 1 {
				t.Fatalf("sub %+v", sq.Query)
			}
		}},
		{"alias and multi-line", "SELECT c.Id\nFROM Case c\nWHERE c.Status = 'New'", func(t *testing.T, q *Query) {
			if q.From.Alias != "c" || q.Where.(*Compare).Pos.Line != 3 {
				t.Fatalf("alias %+v where %+v", q.From, q.Where)
			}
		}},
		{"diamond operator", "SELECT Id FROM Case WHERE Status <> 'Closed'", func(t *testing.T, q *Query) {
			if q.Where.(*Compare).Op != "!=" {
				t.Fatal("<> should mean !=")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Parse(tc.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tc.check(t, q)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src     string
		line    int
		col     int
		msgPart string
	}{
		{"SELECT Id FROM Case WHERE", 1, 26, "unexpected token: <EOF>"},
		{"SELECT Id FROM", 1, 15, "unexpected token: <EOF>"},
		{"SELECT FROM Case", 1, 8, "unexpected token: 'FROM'"},
		{"SELECT Id, FROM Case", 1, 12, "unexpected token: 'FROM'"},
		{"SELECT Id FROM Case WHERE A = 1 AND B = 2 OR C = 3", 1, 43, "unexpected token: 'OR'"},
		{"SELECT Id FROM Case WHERE Subject = 'abc", 1, 37, "unexpected token: <EOF>"},
		{"SELECT Id FROM Case WHERE Subject = :name", 1, 37, "Bind variables only allowed in Apex code"},
		{"SELECT Id FROM Case LIMIT -1", 1, 27, "unexpected token: '-1'"},
		{"SELECT Id FROM Case LIMIT 5 extra", 1, 29, "unexpected token: 'extra'"},
		{"SELECT Id FROM Case WHERE Subject = 'a\\qb'", 1, 39, "Illegal character sequence"},
		{"SELECT Id FROM Case\nWHERE Status IN 'New'", 2, 17, "unexpected token: 'New'"},
		{"SELECT FORMAT(Id) FROM Case", 1, 8, "Unknown or unsupported function FORMAT"},
		{"SELECT Id FROM Case WHERE Status = New", 1, 36, "unexpected token: 'New'"},
		{"SELECT Id FROM Case WHERE (Status = 'New'", 1, 42, "unexpected token: <EOF>"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			_, err := Parse(tc.src)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if pe.Code != "MALFORMED_QUERY" || pe.Pos.Line != tc.line || pe.Pos.Col != tc.col || !strings.Contains(pe.Msg, tc.msgPart) {
				t.Fatalf("got %s (line %d col %d), want line %d col %d %q", pe.Msg, pe.Pos.Line, pe.Pos.Col, tc.line, tc.col, tc.msgPart)
			}
		})
	}
}

func TestCaretMessage(t *testing.T) {
	// The shape Salesforce documents for INVALID_FIELD and MALFORMED_QUERY.
	src := "SELECT Id,Invalid__x FROM Contact LIMIT 1"
	got := Caret(src, Pos{Line: 1, Col: 11}, "No such column 'Invalid__x' on entity 'Contact'.")
	want := "\nSELECT Id,Invalid__x FROM Contact LIMIT 1\n          ^\nERROR at Row:1:Column:11\nNo such column 'Invalid__x' on entity 'Contact'."
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	_, err := Parse("SELECT Id FROM Case WHERE")
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
	if msg := pe.Message("SELECT Id FROM Case WHERE"); msg != "\nSELECT Id FROM Case WHERE\n                         ^\nERROR at Row:1:Column:26\nunexpected token: <EOF>" {
		t.Fatalf("message %q", msg)
	}
}

func TestParseSearch(t *testing.T) {
	s, err := ParseSearch("FIND {Joe Doe} IN NAME FIELDS RETURNING Contact(Id, Name, Email WHERE Email != null ORDER BY Name LIMIT 5), Lead LIMIT 20")
	if err != nil {
		t.Fatal(err)
	}
	if s.Term != "Joe Doe" || s.Scope != "NAME" || len(s.Returning) != 2 || s.Limit.V != 20 {
		t.Fatalf("got %+v", s)
	}
	r := s.Returning[0]
	if r.Object.Name != "Contact" || len(r.Fields) != 3 || r.Where == nil || len(r.OrderBy) != 1 || r.Limit.V != 5 {
		t.Fatalf("returning %+v", r)
	}
	if len(s.Returning[1].Fields) != 0 {
		t.Fatalf("bare object should have no fields")
	}
	s, err = ParseSearch(`FIND {a\}b*}`)
	if err != nil || s.Term != "a}b*" || s.Scope != "ALL" {
		t.Fatalf("escape: %+v %v", s, err)
	}
}

func TestParseSearchErrors(t *testing.T) {
	tests := []struct{ src, msgPart string }{
		{"FIND Acme", "No search term found. The search term must be enclosed in braces."},
		{"FIND {Acme", "No search term found"},
		{"SELECT Id FROM Case", "No search term found"},
		{"FIND {a}", "longer than one character"},
		{"FIND {Acme} IN BODY FIELDS", "unexpected token: 'BODY'"},
		{"FIND {Acme} RETURNING Contact(Id", "unexpected token: <EOF>"},
		{"FIND {Acme} RETURNING", "unexpected token: <EOF>"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			_, err := ParseSearch(tc.src)
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != "MALFORMED_SEARCH" || !strings.Contains(pe.Message(tc.src), tc.msgPart) {
				t.Fatalf("err = %v, want MALFORMED_SEARCH with %q", err, tc.msgPart)
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	src := "SELECT Id FROM Case WHERE " + strings.Repeat("(", 200) + "A = 1" + strings.Repeat(")", 200)
	if _, err := Parse(src); err == nil {
		t.Fatal("deep nesting should be refused")
	}
	src = "SELECT Id FROM Case WHERE " + strings.Repeat("NOT ", 200) + "A = 1"
	if _, err := Parse(src); err == nil {
		t.Fatal("deep NOT chain should be refused")
	}
}
