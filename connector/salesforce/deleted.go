package salesforce

import (
	"context"
	"fmt"
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
}

// Deleted lists the object records deleted between start and end
// (GET sobjects/{object}/deleted/?start=&end=; minute granularity, so
// start and end must lie in different minutes, and at most 15 days back).
func (c *Client) Deleted(ctx context.Context, object string, start, end time.Time) (DeletedResult, error) {
	if err := checkName("object", object); err != nil {
		return DeletedResult{}, fmt.Errorf("salesforce query: %w", err)
	}
	// Salesforce ignores the seconds: a window inside one minute is empty
	// and refused (INVALID_REPLICATION_DATE).
	if !start.Truncate(time.Minute).Before(end.Truncate(time.Minute)) {
		return DeletedResult{}, fmt.Errorf("salesforce query: %w: start must be a minute or more before end", ErrInvalidArgument)
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
	if err := c.getJSON(ctx, OpQuery, c.DataPath("sobjects", object, "deleted")+"/", q, &body); err != nil {
		return DeletedResult{}, err
	}
	res := DeletedResult{Records: make([]DeletedRecord, 0, len(body.DeletedRecords))}
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
