package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
)

// findDeleted asks Salesforce which case records were deleted since the
// last window (getDeleted, minute granularity, at most 15 days back) and
// marks the linked Care cases. sfClock is the newest SystemModstamp known,
// Salesforce's own time. The next window starts at Salesforce's
// latestDateCovered, so a clock apart from Salesforce's is never a gap.
func (p *Poller) findDeleted(ctx context.Context, client *salesforce.Client, object string, sfClock time.Time, res *PollResult) error {
	if p.now().Before(p.deletedAskAt) {
		return nil // refused a moment ago: the window is not over yet
	}
	start, err := p.loadTime(ctx, deletedWatermarkKey)
	if err != nil {
		return err
	}
	if start.IsZero() {
		start = sfClock.Add(-p.lookback)
	}
	// The window ends at Salesforce's now: ours moved by the offset the
	// last answer's Date showed, or at first the newest SystemModstamp.
	end := sfClock
	if now := p.now().Add(p.sfOffset); p.haveOffset && now.After(end) {
		end = now
	}
	if floor := end.Add(-(salesforce.DeletedWindow - deletedMargin)); start.Before(floor) {
		start = floor
	}
	if !p.haveOffset && !salesforce.DeletedWindowOK(start, end) {
		// After a restart, with no linked case changed since the last
		// window: a short window teaches us Salesforce's clock.
		end = start.Add(2 * time.Minute)
	}
	if !salesforce.DeletedWindowOK(start, end) {
		return nil // within a minute of the last window: the next poll asks
	}
	got, err := client.Deleted(ctx, object, start, end)
	p.budget.ObserveClient(client)
	var ae *salesforce.APIError
	if errors.As(err, &ae) && ae.Code == codeInvalidReplicationDate {
		// The window is not over yet at Salesforce: ask again in a minute
		// (the window's granularity), not at every poll.
		p.log.Info("outbox: Salesforce refused the deleted-records window; asking again in a minute", "reason", ae.Message)
		p.haveOffset = false
		p.deletedAskAt = p.now().Add(time.Minute)
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleted %s records: %w", object, err)
	}
	if !got.ServerTime.IsZero() {
		p.sfOffset, p.haveOffset = got.ServerTime.Sub(p.now()), true
	}
	for _, rec := range got.Records {
		if err := p.markDeleted(ctx, rec, res); err != nil {
			return err
		}
	}
	next := got.LatestDateCovered
	if next.IsZero() || next.After(end) {
		next = end
	}
	if !next.After(start) {
		return nil
	}
	return p.saveTime(ctx, deletedWatermarkKey, next)
}

// markDeleted records that the Salesforce case of a linked Care case was
// deleted: the case gains salesforce.deleted_at (which unlocks Care
// replies) and its waiting Salesforce work moves to failed with the reason
// salesforce_record_deleted. The deliverer fails whatever comes later.
func (p *Poller) markDeleted(ctx context.Context, rec salesforce.DeletedRecord, res *PollResult) error {
	c, err := p.store.CaseBySalesforceID(ctx, rec.ID)
	switch {
	case care.IsNotFound(err):
		return nil // not a case of ours
	case err != nil:
		return fmt.Errorf("case of %s: %w", rec.ID, err)
	case c.Salesforce.DeletedAt != nil:
		return nil
	}
	release, _, err := p.deliverer.claim(ctx, c.ID)
	if err != nil {
		return err
	}
	defer release()
	at := rec.DeletedDate
	if at.IsZero() {
		at = p.now()
	}
	at = at.UTC()
	if _, err := p.store.ApplyFromSalesforce(ctx, c.ID, func(c *care.Case, _ time.Time) error {
		if c.Salesforce.CaseID == rec.ID && c.Salesforce.DeletedAt == nil {
			c.Salesforce.DeletedAt = &at
		}
		return nil
	}); err != nil {
		return fmt.Errorf("mark case %d deleted in Salesforce: %w", c.ID, err)
	}
	queue, err := p.pending(ctx, c.ID)
	if err != nil {
		return err
	}
	ids := make([]uint64, len(queue))
	for i, e := range queue {
		ids[i] = e.ID
	}
	if err := p.store.OutboxFail(context.WithoutCancel(ctx), ids, errorText(errRecordDeleted)); err != nil {
		return fmt.Errorf("fail the waiting work of case %d: %w", c.ID, err)
	}
	res.Deleted++
	p.log.Info("outbox: the Salesforce case was deleted; Care replies unlock", slog.Int64("case", c.ID),
		slog.Int("failed", len(ids)))
	return nil
}
