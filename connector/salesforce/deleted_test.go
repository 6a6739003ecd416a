package salesforce

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestDeleted(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+v+"/sobjects/Merchandise__c/deleted/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", "Tue, 14 May 2013 10:20:30 GMT")
		serve(w, 200, fixture(t, "get_deleted.json"))
	})
	c, rec, _ := newOrg(t, mux, Options{})
	start := time.Date(2013, 5, 5, 1, 0, 30, 0, time.FixedZone("x", 3600))
	res, err := c.Deleted(context.Background(), "Merchandise__c", start, start.Add(5*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := DeletedRecord{ID: "a00D0000008pQRAIA2", DeletedDate: time.Date(2013, 5, 7, 22, 7, 19, 0, time.UTC)}
	if len(res.Records) != 1 || res.Records[0].ID != want.ID || !res.Records[0].DeletedDate.Equal(want.DeletedDate) {
		t.Errorf("records %+v", res.Records)
	}
	if !res.EarliestDateAvailable.Equal(time.Date(2013, 5, 3, 15, 57, 0, 0, time.UTC)) ||
		!res.LatestDateCovered.Equal(time.Date(2013, 5, 8, 21, 20, 0, 0, time.UTC)) {
		t.Errorf("window %+v", res)
	}
	if !res.ServerTime.Equal(time.Date(2013, 5, 14, 10, 20, 30, 0, time.UTC)) {
		t.Errorf("server time %v", res.ServerTime)
	}
	q, _ := url.ParseQuery(rec.all()[0].RawQuery)
	if q.Get("start") != "2013-05-05T00:00:30+00:00" || q.Get("end") != "2013-05-10T00:00:30+00:00" {
		t.Errorf("window %v", q)
	}
}

func TestDeletedRefusesAWindowOfAMinuteOrLess(t *testing.T) {
	c, rec, _ := newOrg(t, http.NewServeMux(), Options{})
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, end := range []time.Time{start, start.Add(50 * time.Second), start.Add(85 * time.Second), start.Add(-time.Hour)} {
		if _, err := c.Deleted(context.Background(), "Case", start, end); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("end %v: %v", end, err)
		}
	}
	if _, err := c.Deleted(context.Background(), "Case'", start, start.Add(time.Hour)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("bad object name: %v", err)
	}
	if n := rec.count(); n != 0 {
		t.Errorf("%d calls for refused windows", n)
	}
}
