package outbox

import (
	"iter"
	"slices"
	"strings"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/mapping"
)

// Which linked cases a poll's query names, and how (SPEC §11 "Poller").

// linkedChunk is how many linked Salesforce case ids one query names in
// its Id IN (…) list: about 6,600 characters of SOQL and 8 KB of URL,
// well inside Salesforce's 100,000-character statement and 16 KB URI (its
// 4,000-character WHERE limit is per string literal: one id here).
const linkedChunk = 300

// linkedFilters yields the WHERE conditions that name the linked cases,
// one query each.
//
// A case carebridge created by upsert carries its external key in the
// field the mapping upserted it by (care.SalesforceLink.ExternalIDField):
// while the mapping's case external id field is still that field, one
// condition on it (field != null) names every such case however many
// there are, and no Case of the org that carebridge did not create is
// read. A case that may not carry it (linked to an existing Salesforce
// case, created while the mapping had no external id field or another
// one, or linked by an older release, whose link does not say) is named
// by Id, in chunks of linkedChunk. Up to linkedChunk linked cases, or when
// the field's condition would not save a query, every case is named by
// Id: as many queries, and no Case carebridge created but no longer
// links is read.
func linkedFilters(m *mapping.Mapping, linked []care.LinkedSalesforceCase) iter.Seq[string] {
	return func(yield func(string) bool) {
		field := caseExternalIDField(m)
		byID := make([]string, 0, len(linked))
		for _, l := range linked {
			if field == "" || !strings.EqualFold(l.ExternalIDField, field) {
				byID = append(byID, l.ID)
			}
		}
		carrying := len(linked) - len(byID)
		if carrying > 0 && len(linked) > linkedChunk && 1+chunks(len(byID)) <= chunks(len(linked)) {
			if !yield(field + " != null") {
				return
			}
		} else if carrying > 0 {
			byID = byID[:0]
			for _, l := range linked {
				byID = append(byID, l.ID)
			}
		}
		for chunk := range slices.Chunk(byID, linkedChunk) {
			quoted := make([]string, len(chunk))
			for i, id := range chunk {
				quoted[i] = salesforce.QuoteSOQL(id)
			}
			if !yield("Id IN (" + strings.Join(quoted, ", ") + ")") {
				return
			}
		}
	}
}

// chunks is how many Id IN (…) queries name n cases.
func chunks(n int) int { return (n + linkedChunk - 1) / linkedChunk }

// caseExternalIDField is the mapping's case external id field, "" when it
// has none (or a name no query may hold).
func caseExternalIDField(m *mapping.Mapping) string {
	if m == nil || m.Case == nil || !apiName.MatchString(m.Case.ExternalIDField) {
		return ""
	}
	return m.Case.ExternalIDField
}
