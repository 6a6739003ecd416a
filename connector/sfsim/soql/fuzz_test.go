package soql

import (
	"errors"
	"testing"
)

// FuzzParse checks that the parsers never panic or hang and that every
// failure is a positioned *Error.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"SELECT Id FROM Case",
		"SELECT Id, CaseNumber, Status, SystemModstamp FROM Case WHERE SystemModstamp > 2024-06-01T09:00:00Z ORDER BY SystemModstamp, Id LIMIT 2000",
		"SELECT Id, Case__r.Contact.Email FROM Care_Social_Post__c WHERE Case__c IN ('500000000000001AAA') AND Direction__c = 'Inbound'",
		"SELECT COUNT() FROM Contact WHERE FirstName = 'Joe' AND LastName = 'Doe'",
		"SELECT Id, Name, Email FROM Contact WHERE (FirstName LIKE 'Jo%' OR Email = null) AND NOT LastName IN ('x','y') ORDER BY Name DESC NULLS LAST LIMIT 10 OFFSET 5",
		"SELECT Status, COUNT(Id) n FROM Case GROUP BY Status",
		"SELECT Id, (SELECT Id FROM Care_Social_Posts__r) FROM Case",
		"SELECT Id FROM Case WHERE CreatedDate = LAST_N_DAYS:30 AND Amount__c >= -1.5",
		"select id from case where subject = 'O\\'Brien \\n'",
		"FIND {Joe Doe} IN NAME FIELDS RETURNING Contact(Id, Name, Email)",
		"FIND {a\\}b} RETURNING Lead(Id WHERE Company != null LIMIT 2), Contact LIMIT 5",
		"SELECT Id FROM Case WHERE",
		"SELECT",
		"",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if _, err := Parse(src); err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q): error %T is not *Error", src, err)
			}
			_ = pe.Message(src)
		}
		if _, err := ParseSearch(src); err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("ParseSearch(%q): error %T is not *Error", src, err)
			}
			_ = pe.Message(src)
		}
	})
}
