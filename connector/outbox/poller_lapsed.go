package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

// Linked cases whose case external id field a Salesforce user cleared.
//
// Above linkedChunk linked cases the poll names the cases carebridge
// created by the field (field != null). The field is editable in the org:
// a user who blanks it on one case takes that case out of the condition,
// change and all, and its status changes would never reach Care again.
// So the field's query also reads, whenever they changed, those of
// linkedChunk such cases, in turn, whose field is empty (lapseChunk): no
// query more, and no row more unless one was cleared. Every case is
// checked once per ceil(n/linkedChunk) polls. A case found so is read
// with its current status (applied like any change) and its key is
// written back (restoreKeys).

// lapseChunk picks, from the linked cases named by the case external id
// field (a slice of the caller's), the linkedChunk after the last one a
// poll checked, from the first again past the end. The caller holds
// pollMu.
func (p *Poller) lapseChunk(carrying []string) []string {
	slices.Sort(carrying)
	i, found := slices.BinarySearch(carrying, p.lapseAfter)
	if found {
		i++
	}
	if i >= len(carrying) {
		i = 0
	}
	chunk := carrying[i:min(i+linkedChunk, len(carrying))]
	p.lapseNext = chunk[len(chunk)-1]
	return chunk
}

// readKey is a linked case as a query or a change event read it: its
// Salesforce id and the value of the case external id field.
type readKey struct {
	id, value string
}

// restoreKeys writes back, in sObject Collections of up to 200, the
// external key of linked cases whose Salesforce record was read with the
// case external id field empty or holding another value (a user who
// pasted another case's key, or edited it). The field is carebridge's:
// the poll names the case by it, a retried upsert finds the record by it
// (a second record holding a key makes that upsert ambiguous), and the
// Salesforce case page shows the Care case by it. The record's status is
// applied by its Salesforce id, never by the value found. Each case is
// logged by its Care and Salesforce ids and the value found (a case key,
// no secret). A case Salesforce refuses to write (the field not editable
// by the integration user, a validation rule, the key now on another
// record) is named by Id from then on, and logged. Cases whose link does
// not say carebridge wrote the field (a case linked by hand) are not
// carebridge's to fill. settled is false when a write is to be tried
// again (a transient error): the same cases are checked at the next poll.
func (p *Poller) restoreKeys(ctx context.Context, client *salesforce.Client, m *mapping.Mapping, read []readKey, res *PollResult) (settled bool, err error) {
	w, err := p.keysToRestore(ctx, m, read)
	if err != nil || len(w.recs) == 0 {
		return err == nil, err
	}
	return p.writeBackKeys(ctx, client, m, w, res)
}

// keyWriteBack is what restoreKeys writes: the records (Id and key), and
// by Salesforce id the Care case and the value found.
type keyWriteBack struct {
	recs   []map[string]any
	caseOf map[string]int64
	found  map[string]string
}

// keysToRestore picks, from the cases read, those whose key carebridge
// wrote and a user cleared or changed: store lookups, no Salesforce call.
func (p *Poller) keysToRestore(ctx context.Context, m *mapping.Mapping, read []readKey) (keyWriteBack, error) {
	w := keyWriteBack{caseOf: map[string]int64{}, found: map[string]string{}}
	field := caseExternalIDField(m)
	if field == "" {
		return w, nil
	}
	for _, k := range read {
		if _, ok := w.found[k.id]; ok {
			continue
		}
		c, err := p.store.CaseBySalesforceID(ctx, k.id)
		switch {
		case care.IsNotFound(err):
			continue // unlinked meanwhile
		case err != nil:
			return w, fmt.Errorf("case of %s: %w", k.id, err)
		case !strings.EqualFold(c.Salesforce.ExternalIDField, field) || c.ExternalKey == "" || c.Salesforce.DeletedAt != nil,
			k.value == c.ExternalKey:
			continue
		}
		w.recs = append(w.recs, map[string]any{"Id": k.id, field: c.ExternalKey})
		w.caseOf[k.id], w.found[k.id] = c.ID, k.value
	}
	return w, nil
}

// writeBackKeys writes w's keys back (see restoreKeys).
func (p *Poller) writeBackKeys(ctx context.Context, client *salesforce.Client, m *mapping.Mapping, w keyWriteBack, res *PollResult) (settled bool, err error) {
	field := caseExternalIDField(m)
	caseOf, found := w.caseOf, w.found
	settled = true
	var byID []string
	refused := func(id string, err error) {
		p.log.Warn("outbox: poll: the case external id was cleared or changed in Salesforce and could not be written back; the poll names the case by Id",
			slog.Int64("case", caseOf[id]), "salesforce_case", id, "field", field, "found", found[id], "error", errorText(err))
		res.KeysRefused++
		p.metrics.keyRestored(KeyRefused)
		byID = append(byID, id)
	}
	for chunk := range slices.Chunk(w.recs, salesforce.MaxCollectionRecords) {
		out, err := client.CollectionsUpdate(ctx, caseObject(m), chunk, false)
		p.budget.ObserveClient(client)
		if err != nil && salesforce.Classify(err) != salesforce.NotRetryable {
			return false, fmt.Errorf("write back %s: %w", field, err)
		}
		for i, rec := range chunk {
			id := rec["Id"].(string)
			rerr := err
			if err == nil {
				if i >= len(out) {
					settled = false
					continue
				}
				if out[i].Success {
					res.Restored++
					p.metrics.keyRestored(KeyRestored)
					p.log.Info("outbox: poll: the case external id was cleared or changed in Salesforce; carebridge wrote it back",
						slog.Int64("case", caseOf[id]), "salesforce_case", id, "field", field, "found", found[id])
					continue
				}
				rerr = out[i].Err
			}
			if salesforce.Classify(rerr) == salesforce.Retryable {
				settled = false
				continue
			}
			refused(id, rerr)
		}
	}
	if len(byID) > 0 {
		if _, err := p.store.RecordSalesforceExternalIDField(ctx, "", byID); err != nil {
			return false, fmt.Errorf("name by Id the cases whose %s was cleared or changed: %w", field, err)
		}
	}
	return settled, nil
}

// CaseKeyField is the mapping's case external id field, whose value a
// linked case carebridge created must keep ("" when the mapping has none).
func (p *Poller) CaseKeyField() string { return caseExternalIDField(p.mapping()) }

// KeyChange is a change of the case external id field of a Salesforce
// case that a change event carried: the value after it ("" when nulled).
type KeyChange struct {
	SalesforceID string
	Value        string
}

// RestoreKey writes back at once the case external id of a linked case
// whose field a change event showed cleared or changed by a Salesforce
// user, by the poll's own path (restoreKeys): the same checks, log and
// metric, and a refused case is named by Id from then on. A value that is
// the case's key (carebridge's own write, echoed) or a case carebridge
// did not write the key of costs one index lookup and no Salesforce call.
// A write-back that could not be made now (a transient error) is left to
// the poll, which reads the case whenever it changes.
func (p *Poller) RestoreKey(ctx context.Context, k KeyChange) (PollResult, error) {
	var res PollResult
	m := p.mapping()
	w, err := p.keysToRestore(ctx, m, []readKey{{id: k.SalesforceID, value: k.Value}})
	if err != nil || len(w.recs) == 0 {
		return res, err
	}
	err = p.tokens.DoBackground(ctx, func(conn *tokens.Conn) error {
		res = PollResult{}
		_, err := p.writeBackKeys(ctx, conn.Client, m, w, &res)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("outbox: restore the case external id of %s: %w", k.SalesforceID, err)
	}
	return res, nil
}
