package console

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/chromedp/chromedp"
)

// browserSLA: urgent cases are answered within 10 minutes, high ones
// within 4 hours, the others within an hour. Due soon is the last quarter
// of a target (the sla=due_soon filter's rule): 15 minutes of an hour, an
// hour of 4.
var browserSLA = care.SLAPolicies{
	{Name: "urgent", Priorities: []care.Priority{care.PriorityUrgent}, FirstResponse: 10 * time.Minute, NextResponse: time.Hour, Resolution: 4 * time.Hour},
	{Name: "high", Priorities: []care.Priority{care.PriorityHigh}, FirstResponse: 4 * time.Hour, NextResponse: 4 * time.Hour, Resolution: 24 * time.Hour},
	{Name: "standard", FirstResponse: time.Hour, NextResponse: 2 * time.Hour, Resolution: 24 * time.Hour},
}

// Each case of the list shows its SLA time left, coloured ok, due soon or
// breached; filtering by "breached" lists only the breached case, and
// saving that list as a view puts it in the sidebar with its count.
func TestBrowserSLA(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newLiveEnv(t, func(o *bolt.Options) { o.Policy.SLA = browserSLA })
	// The page counts the time left by the browser's clock: the store's
	// stands at the real time, the cases made 50 minutes before it.
	now := time.Now().UTC()
	e.clock.Set(now.Add(-190 * time.Minute))
	high := e.escalate("m4", "max", "brand", "Still waiting for the refund")
	if s, out := e.apiAs("sue", http.MethodPatch, fmt.Sprintf("/api/v1/cases/%d", high), map[string]any{"priority": "high"}); s != http.StatusOK {
		t.Fatalf("make case %d high: %d %v", high, s, out)
	}
	e.clock.Set(now.Add(-50 * time.Minute))
	late := e.escalate("m1", "joe", "brand", "Where is my parcel?")
	if s, out := e.apiAs("sue", http.MethodPatch, fmt.Sprintf("/api/v1/cases/%d", late), map[string]any{"priority": "urgent"}); s != http.StatusOK {
		t.Fatalf("make case %d urgent: %d %v", late, s, out)
	}
	soon := e.escalate("m2", "ann", "brand", "Wrong size delivered")
	e.clock.Set(now)
	fresh := e.escalate("m3", "kim", "brand", "Hello there")
	if b, err := e.store.BreachSLAs(context.Background()); err != nil || len(b) != 1 || b[0].CaseID != late {
		t.Fatalf("breaches %v %v, want case %d's first response", b, err, late)
	}

	tb := newTab(t, e)
	tb.do(chromedp.Navigate(tb.base + "/"))
	tb.signIn("sue")
	row := func(id int64) string { return fmt.Sprintf(`#case-list a[data-case="%d"]`, id) }
	for id, want := range map[int64]struct{ state, text string }{
		late:  {"breached", "first response breached 40 min ago"},
		soon:  {"soon", "min left (first response)"},
		fresh: {"ok", "60 min left (first response)"},
		// 50 minutes of 4 hours left: the last quarter, due soon.
		high: {"soon", "50 min left (first response)"},
	} {
		tb.waitText(row(id)+" .sla.sla-"+want.state, want.text)
	}
	tb.waitJS("three colours", fmt.Sprintf(`new Set([%s, %s, %s].map((s) => getComputedStyle(document.querySelector(s)).color)).size === 3`,
		jsString(row(late)+" .sla"), jsString(row(soon)+" .sla"), jsString(row(fresh)+" .sla")))
	tb.shot("sla")

	tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('f-sla').closest('details').open = true`))
	tb.choose("#f-sla", care.SLAFilterBreached)
	tb.click(`.filters button[type="submit"]`)
	onlyLate := fmt.Sprintf(`document.querySelectorAll('#case-list a[data-case]').length === 1 && !!document.querySelector(%s)`, jsString(row(late)))
	tb.waitJS("the breached case alone", `location.search.includes('sla=breached') && `+onlyLate)

	tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('sv-name').closest('details').open = true`),
		chromedp.SendKeys(chromedp.ID("sv-name"), "Breached"), chromedp.Click(chromedp.ID("sv-save")))
	tb.waitText("#list-title", "Breached")
	tb.waitJS("the saved view's cases", `!location.search.includes('sla=') && `+onlyLate)
	tb.waitText(".saved-views", "Breached")
	tb.waitText(".saved-views .count", "1")
}
