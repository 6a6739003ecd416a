package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/sfsim/simtest"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// TestWalkthrough is "From demo to your org" end to end, with the simulated
// org as the stand-in for a real one: `carebridge init` in an empty
// directory, bound to the org by its id as Setup → Company Information
// shows it (15 characters; without it Sign in with Salesforce waits for
// the default token), the edits a Salesforce admin makes (the connected app's
// consumer key and secret, Sign in with Salesforce on, the org's host among
// the frame ancestors), `serve` with the written files, Sign in with
// Salesforce in Chromium, the default token connected through the console,
// a case escalated from the console, and the Salesforce case page showing
// the Care case in its embed. It skips without Chromium unless
// CAREBRIDGE_REQUIRE_CHROMIUM=1.
func TestWalkthrough(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CAREBRIDGE_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("CAREBRIDGE_REQUIRE_CHROMIUM=1 but %s is missing: %v", chromium, err)
		}
		t.Skipf("%s not installed; the walk-through needs a browser", chromium)
	}
	bin := buildBinary(t)
	addr := freeAddr(t)
	publicURL := "http://" + addr
	sim := simtest.NewServer(t, sfsim.Options{LoginPage: true,
		CasePageEmbedURL: publicURL + "/embed/cases/{Care_Case_Id__c}"})

	// 1. init in an empty directory.
	dir := filepath.Join(t.TempDir(), "carebridge")
	const adminEmail = "ada.admin@acme.example"
	code, stdout, stderr := runCmd(t, "", "init", "--dir", dir, "--public-url", publicURL, "--login-url", sim.LoginURL,
		"--salesforce-org-id", sim.OrgID()[:15], "--email", adminEmail)
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
	}
	m := regexp.MustCompile(`token for admin: (\S+)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("init printed no token:\n%s", stdout)
	}
	adminToken := m[1]

	// 2. What the admin edits: the connected app and sign-in.
	cfgPath := filepath.Join(dir, "carebridge.yaml")
	editConfig(t, cfgPath, map[string]string{
		`(?m)^(\s+client_id:) ""`:             `${1} "` + sfsim.DefaultClientID + `"`,
		`(?m)^(\s+salesforce_sign_in:) false`: `${1} true`,
		`(?m)^(\s+embed_frame_ancestors:) \[`: `${1} ["` + sim.InstanceURL + `", `,
	})

	// 3. serve with the written files; the secret and the listen address
	// come from the environment, as in a container.
	d := startDaemon(t, bin, cfgPath, "CAREBRIDGE_LISTEN="+addr,
		"CAREBRIDGE_SALESFORCE_CLIENT_SECRET="+sfsim.DefaultClientSecret,
		"CAREBRIDGE_SALESFORCE_PUBSUB_URL="+sim.PubSubURL())
	b := newWalkBrowser(t, chromium)

	// 4. Sign in with Salesforce.
	b.do(chromedp.Navigate(publicURL + "/login?login_hint=" + adminEmail))
	b.click("#salesforce-sign-in")
	b.waitJS("the org's login form", `document.getElementById('username') && document.getElementById('username').value === `+jsQuote(adminEmail))
	b.click("#Login")
	b.waitText("body", "Signed in as")
	b.shot("signed-in-with-salesforce")

	// 5. Connect the default token.
	b.do(chromedp.Navigate(publicURL + "/settings/salesforce"))
	b.click("#connect-default")
	b.waitJS("the org's login form", `!!document.getElementById('username')`)
	b.do(chromedp.SetValue(chromedp.ID("username"), adminEmail))
	b.click("#Login")
	b.waitText(".settings", "Connected")

	// 6. A customer writes; the admin escalates the case from the console.
	status, body := call(t, http.MethodPost, publicURL+"/api/v1/cases", adminToken, `{"mode":"manual","message":{
		"external_id":"walk-1","platform":"twitter","profile_id":"brand","customer":{"platform_user_id":"joe","username":"joedoe","first_name":"Joe","last_name":"Doe"},
		"direction":"inbound","type":"mention","text":"My parcel never arrived","sent_at":"`+time.Now().UTC().Format(time.RFC3339)+`"}}`)
	if status != http.StatusCreated {
		t.Fatalf("create case: %d %s", status, body)
	}
	var created struct {
		Case struct {
			ID int64 `json:"id"`
		} `json:"case"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Navigate(fmt.Sprintf("%s/cases/%d", publicURL, created.Case.ID)))
	b.click("#tab-salesforce")
	b.click("#sf-contact-start")
	b.waitJS("the contact form", `!!document.getElementById('sf-contact-create')`)
	b.click("#sf-contact-create")
	b.waitJS("the linked contact", `!document.getElementById('panel-salesforce').innerText.includes('No Salesforce contact is linked')`)
	b.click("#sf-case-start")
	b.waitJS("the case form", `!!document.getElementById('sf-case-create')`)
	b.click("#sf-case-create")
	b.waitText("#panel-salesforce", "Case 0")
	b.shot("escalated")
	status, body = call(t, http.MethodGet, fmt.Sprintf("%s/api/v1/cases/%d", publicURL, created.Case.ID), adminToken, "")
	var got struct {
		ExternalKey string `json:"external_key"`
		Salesforce  struct {
			ID string `json:"case_id"`
		} `json:"salesforce"`
	}
	if err := json.Unmarshal([]byte(body), &got); status != http.StatusOK || err != nil || got.Salesforce.ID == "" {
		t.Fatalf("escalated case: %d %v %s", status, err, body)
	}
	if rec, ok := sim.Record("Case", got.Salesforce.ID); !ok || rec["Care_Case_Id__c"] != got.ExternalKey {
		t.Fatalf("the Salesforce case %s does not carry the Care case's key %s: %v", got.Salesforce.ID, got.ExternalKey, rec)
	}

	// 7. The Salesforce case page shows the Care case in its embed.
	b.do(chromedp.Navigate(sim.InstanceURL + "/lightning/r/Case/" + got.Salesforce.ID + "/view"))
	b.waitFrameText("#care-case", "My parcel never arrived")
	b.shot("salesforce-case-page")

	// 8. Without a carebridge session the embed offers Sign in with
	// Salesforce in a popup (Salesforce's login refuses to be framed) and
	// shows the case once the popup is done.
	fresh := b.incognito()
	fresh.do(chromedp.Navigate(sim.InstanceURL + "/lightning/r/Case/" + got.Salesforce.ID + "/view"))
	fresh.waitFrameText("#care-case", "Sign in with Salesforce")
	popups := chromedp.WaitNewTarget(fresh.ctx, func(info *target.Info) bool { return info.Type == "page" })
	frame, err := chromedp.Run(fresh.ctx, chromedp.Nodes(chromedp.CSS("#care-case")))
	if err != nil || len(frame) == 0 {
		t.Fatalf("the case page's frame: %v", err)
	}
	fresh.do(chromedp.Click(chromedp.CSS("#salesforce-sign-in"), chromedp.FromNode(frame[0])))
	var popupID target.ID
	select {
	case popupID = <-popups:
	case <-time.After(15 * time.Second):
		t.Fatal("Sign in with Salesforce opened no popup")
	}
	pctx, pcancel := chromedp.NewContext(fresh.ctx, chromedp.WithTargetID(popupID))
	defer pcancel()
	popup := &walkBrowser{t: t, ctx: pctx, dir: b.dir}
	popup.waitJS("the org's login form in the popup", `!!document.getElementById('username')`)
	popup.do(chromedp.SetValue(chromedp.ID("username"), adminEmail))
	popup.click("#Login")
	fresh.waitFrameText("#care-case", "My parcel never arrived")
	fresh.shot("embed-signed-in-by-popup")
	if strings.Contains(d.logs.String(), adminToken) || strings.Contains(d.logs.String(), sfsim.DefaultClientSecret) {
		t.Error("the daemon logged a secret")
	}
}

// editConfig applies each regexp replacement once to the config file, as
// an admin edits it by hand, and fails when one finds nothing.
func editConfig(t *testing.T, path string, edits map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for expr, repl := range edits {
		re := regexp.MustCompile(expr)
		if !re.MatchString(text) {
			t.Fatalf("%s: nothing matches %s", path, expr)
		}
		text = re.ReplaceAllString(text, repl)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// walkBrowser is one headless Chromium tab for the walk-through.
type walkBrowser struct {
	t       *testing.T
	ctx     context.Context
	browser context.Context // the browser, for more tabs
	dir     string
}

func newWalkBrowser(t *testing.T, path string) *walkBrowser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
		chromedp.WindowSize(1280, 900)}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(func() { cancel(); bcancel(); acancel() })
	b := &walkBrowser{t: t, ctx: ctx, browser: bctx, dir: os.Getenv("CAREBRIDGE_SCREENSHOT_DIR")}
	if b.dir == "" {
		b.dir = t.TempDir()
	}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// incognito is a tab in a new browser context: no cookies of b.
func (b *walkBrowser) incognito() *walkBrowser {
	b.t.Helper()
	tctx, cancel := chromedp.NewContext(b.browser, chromedp.WithNewBrowserContext())
	ctx, cancelT := context.WithTimeout(tctx, 60*time.Second)
	b.t.Cleanup(func() { cancelT(); cancel() })
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("open tab: %v", err)
	}
	return &walkBrowser{t: b.t, ctx: ctx, browser: b.browser, dir: b.dir}
}

func (b *walkBrowser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// waitJS polls a boolean expression for up to 15 s.
func (b *walkBrowser) waitJS(what, expr string) {
	b.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			url, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.href`))
			text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
			b.t.Fatalf("waiting for %s at %s: %v\n%.1500s", what, url, err, text)
		}
	}
}

func (b *walkBrowser) click(sel string) {
	b.t.Helper()
	b.waitJS("a click on "+sel, fmt.Sprintf(`(() => { const el = document.querySelector(%s); if (!el) return false; el.click(); return true; })()`, jsQuote(sel)))
}

func (b *walkBrowser) waitText(sel, s string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("%q in %s", s, sel), fmt.Sprintf(`[...document.querySelectorAll(%s)].some((el) => el.innerText.includes(%s))`, jsQuote(sel), jsQuote(s)))
}

// waitFrameText waits for s in the document of the iframe sel (a same-site
// frame: Chromium keeps it in the page's process).
func (b *walkBrowser) waitFrameText(sel, s string) {
	b.t.Helper()
	var last string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		nodes, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.CSS(sel)))
		if err != nil || len(nodes) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		last, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body"), chromedp.FromNode(nodes[0])))
		cancel()
		if err == nil && strings.Contains(last, s) {
			return
		}
	}
	b.t.Fatalf("%q never showed in the frame %s; it shows:\n%.1500s", s, sel, last)
}

// shot saves a screenshot and logs its path.
func (b *walkBrowser) shot(name string) {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, "walkthrough-"+name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

func jsQuote(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
