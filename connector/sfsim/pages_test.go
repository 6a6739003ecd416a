package sfsim

import (
	"net/http"
	"strings"
	"testing"
)

func getPage(t *testing.T, u string) (int, string) {
	t.Helper()
	r := get(t, u, "")
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET %s: content type %q, want HTML", u, ct)
	}
	return r.status, string(r.body)
}

func TestRecordPages(t *testing.T) {
	srv := startServer(t, Options{CasePageEmbedURL: "http://127.0.0.1:8080/embed/cases/{Care_Case_Id__c}?c={casenumber}"})
	caseID, err := srv.CreateRecord("Case", map[string]any{"Subject": `Refund <script>alert(1)</script>`, "Care_Case_Id__c": "cb/7 x"})
	if err != nil {
		t.Fatal(err)
	}
	contactID, err := srv.CreateRecord("Contact", map[string]any{"LastName": "O'Brien & Sons"})
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := srv.Record("Case", caseID)

	status, page := getPage(t, srv.InstanceURL+"/lightning/r/Case/"+caseID+"/view")
	if status != http.StatusOK {
		t.Fatalf("case page: %d", status)
	}
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "Refund &lt;script&gt;") {
		t.Errorf("field values are not escaped:\n%s", page)
	}
	embed := `src="http://127.0.0.1:8080/embed/cases/cb%2F7%20x?c=` + cs["CaseNumber"].(string) + `"`
	if !strings.Contains(page, "<iframe") || !strings.Contains(page, embed) {
		t.Errorf("case page lacks the embed %s:\n%s", embed, page)
	}

	// Other objects: their fields, no embed; a 15-character id works too.
	status, page = getPage(t, srv.InstanceURL+"/lightning/r/Contact/"+contactID[:15]+"/view")
	if status != http.StatusOK || !strings.Contains(page, "O&#39;Brien &amp; Sons") || strings.Contains(page, "<iframe") {
		t.Errorf("contact page: %d\n%s", status, page)
	}

	// Without the option a Case page has no iframe.
	plain := startServer(t, Options{})
	id, _ := plain.CreateRecord("Case", map[string]any{"Subject": "x"})
	if _, page := getPage(t, plain.InstanceURL+"/lightning/r/Case/"+id+"/view"); strings.Contains(page, "<iframe") {
		t.Error("an iframe without CasePageEmbedURL")
	}

	for _, path := range []string{
		"/lightning/r/Case/500Sm0000000zzzzAAA/view", // no such record
		"/lightning/r/Nope/" + caseID + "/view",      // no such object
		"/lightning/r/Case/" + caseID + "/edit",
	} {
		if status, page := getPage(t, srv.InstanceURL+path); status != http.StatusNotFound || !strings.Contains(page, "not found") {
			t.Errorf("%s: %d %s", path, status, page)
		}
	}
	if err := srv.DeleteRecord("Case", caseID); err != nil {
		t.Fatal(err)
	}
	if status, _ := getPage(t, srv.InstanceURL+"/lightning/r/Case/"+caseID+"/view"); status != http.StatusNotFound {
		t.Errorf("deleted case: %d", status)
	}
}
