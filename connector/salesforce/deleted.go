package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// DeletedWindow bounds getDeleted: Salesforce keeps deleted records in its
// delete log for about 15 days and answers nothing older (asking before
// earliestDateAvailable is an error).
const DeletedWindow = 15 * 24 * time.Hour

// DeletedRecord is one record getDeleted lists.
type DeletedRecord struct {
	ID          string
	DeletedDate time.Time
}

// DeletedResult is the answer of getDeleted: records deleted in a window,
// the oldest point Salesforce can still answer for and the point up to which
// the answer is complete.
type DeletedResult struct {
	Records []DeletedRecord
	// EarliestDateAvailable is the oldest start Salesforce accepts now.
	EarliestDateAvailable time.Time
	// LatestDateCovered is where the next window should start; it can be
	// earlier than the requested end while a long transaction is open.
	LatestDateCovered time.Time
	// ServerTime is Salesforce's clock when it answered (the Date header,
	// whole seconds); zero when the answer had none.
	ServerTime time.Time
}

// DeletedWindowOK reports whether Salesforce accepts a getDeleted window:
// it ignores the seconds, and start must precede end by more than one
// minute (else INVALID_REPLICATION_DATE).
func DeletedWindowOK(start, end time.Time) bool {
	return end.Truncate(time.Minute).Sub(start.Truncate(time.Minute)) > time.Minute
}

// Deleted lists the object records deleted between start and end
// (GET sobjects/{object}/deleted/?start=&end=; minute granularity, at most
// 15 days back; see DeletedWindowOK).
func (c *Client) Deleted(ctx context.Context, object string, start, end time.Time) (DeletedResult, error) {
	if err := checkName("object", object); err != nil {
		return DeletedResult{}, fmt.Errorf("salesforce query: %w", err)
	}
	if !DeletedWindowOK(start, end) {
		return DeletedResult{}, fmt.Errorf("salesforce query: %w: start must precede end by more than a minute", ErrInvalidArgument)
	}
	q := url.Values{
		"start": {start.UTC().Format("2006-01-02T15:04:05+00:00")},
		"end":   {end.UTC().Format("2006-01-02T15:04:05+00:00")},
	}
	var body struct {
		DeletedRecords []struct {
			ID          string `json:"id"`
			DeletedDate string `json:"deletedDate"`
		} `json:"deletedRecords"`
		EarliestDateAvailable string `json:"earliestDateAvailable"`
		LatestDateCovered     string `json:"latestDateCovered"`
	}
	// The trailing slash is part of the documented resource.
	resp, err := c.do(ctx, &request{op: OpQuery, method: http.MethodGet, path: c.DataPath("sobjects", object, "deleted") + "/", query: q}, http.StatusOK)
	if err != nil {
		return DeletedResult{}, err
	}
	if err := decode(OpQuery, resp.body, &body); err != nil {
		return DeletedResult{}, err
	}
	res := DeletedResult{Records: make([]DeletedRecord, 0, len(body.DeletedRecords))}
	if t, err := http.ParseTime(resp.header.Get("Date")); err == nil {
		res.ServerTime = t.UTC()
	}
	for _, r := range body.DeletedRecords {
		if r.ID == "" {
			continue
		}
		rec := DeletedRecord{ID: r.ID}
		if r.DeletedDate != "" {
			t, err := ParseTime(r.DeletedDate)
			if err != nil {
				return DeletedResult{}, fmt.Errorf("salesforce query: deletedDate: %w", err)
			}
			rec.DeletedDate = t
		}
		res.Records = append(res.Records, rec)
	}
	for _, f := range []struct {
		raw string
		dst *time.Time
	}{{body.EarliestDateAvailable, &res.EarliestDateAvailable}, {body.LatestDateCovered, &res.LatestDateCovered}} {
		if f.raw == "" {
			continue
		}
		t, err := ParseTime(f.raw)
		if err != nil {
			return DeletedResult{}, fmt.Errorf("salesforce query: deleted window: %w", err)
		}
		*f.dst = t
	}
	return res, nil
}
