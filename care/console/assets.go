package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"time"

	"github.com/carebridge/carebridge/care"
)

//go:embed static templates
var files embed.FS

// asset is one embedded static file.
type asset struct {
	body  []byte
	ctype string
	hash  string // first 16 hex digits of its SHA-256
}

// assets are the static files and the page templates.
type assets struct {
	files map[string]asset
	pages *template.Template
}

var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
}

func loadAssets() (*assets, error) {
	a := &assets{files: map[string]asset{}}
	entries, err := fs.ReadDir(files, "static")
	if err != nil {
		return nil, fmt.Errorf("console assets: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		ctype, ok := contentTypes[path.Ext(name)]
		if e.IsDir() || !ok {
			continue
		}
		body, err := files.ReadFile("static/" + name)
		if err != nil {
			return nil, fmt.Errorf("console assets: %w", err)
		}
		sum := sha256.Sum256(body)
		a.files[name] = asset{body: body, ctype: ctype, hash: hex.EncodeToString(sum[:8])}
	}
	funcs := template.FuncMap{
		// asset is a file's URL, versioned by its content so it can be
		// cached for good.
		"asset": func(name string) (string, error) {
			f, ok := a.files[name]
			if !ok {
				return "", fmt.Errorf("no asset %q", name)
			}
			return "/assets/" + name + "?v=" + f.hash, nil
		},
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
	}
	a.pages, err = template.New("").Funcs(funcs).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	return a, nil
}

// pageData is what a page template renders.
type pageData struct {
	Title string
	CSRF  string
	Boot  boot
	User  care.User
	Embed bool
	Next  string
	Error string
	// SalesforceSignIn is the sign-in page's "Sign in with Salesforce"
	// link, "" when that is off; Ticket is what the sign-in popup hands
	// to the framed page.
	SalesforceSignIn string
	Ticket           string
	// SalesforceSignInOff says why the sign-in page shows "Sign in with
	// Salesforce" disabled (it is on, but no org is known yet).
	SalesforceSignInOff string
}

// render executes a page template into a buffer first, so a template error
// never leaves half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	if name == "login.html" {
		d.SalesforceSignIn = c.salesforceSignInURL(r, d.Next, d.Embed)
		if c.sf != nil && d.SalesforceSignIn == "" {
			d.SalesforceSignInOff = notBoundMessage
		}
	}
	var buf bytes.Buffer
	if err := c.assets.pages.ExecuteTemplate(&buf, name, d); err != nil {
		c.log.ErrorContext(r.Context(), "console page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// asset serves an embedded static file. A request naming the current
// version may be cached for a year; others revalidate by ETag.
func (c *Console) asset(w http.ResponseWriter, r *http.Request) {
	c.headers(w, false)
	f, ok := c.assets.files[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", `"`+f.hash+`"`)
	if r.URL.Query().Get("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, r.PathValue("name"), time.Time{}, bytes.NewReader(f.body))
}
