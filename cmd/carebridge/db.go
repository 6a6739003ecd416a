package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/httpapi"
)

// dbCmd runs `carebridge db check --data-dir DIR`: the full check of a
// stopped daemon's store, with a one-line verdict.
func dbCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		return usageErr("db needs the subcommand check")
	}
	fs := newFlagSet("db check", stderr)
	dataDir := fs.String("data-dir", "", "the daemon's data `DIR` (holding "+bolt.FileName+")")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 || *dataDir == "" {
		return usageErr("db check needs --data-dir DIR and nothing else")
	}
	path := filepath.Join(*dataDir, bolt.FileName)
	if err := bolt.CheckFile(path); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok, no damage found\n", path)
	return nil
}

// backupPath is the route of the online backup (SPEC §12).
const backupPath = "/api/v1/admin/backup"

// backupCmd runs `carebridge backup --url URL --token-file F --out FILE`:
// it saves the running daemon's database, writing beside FILE and renaming
// once the copy is whole and passes the full check.
func backupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr)
	base := fs.String("url", "", "the daemon's `URL` (e.g. http://127.0.0.1:8080)")
	tokenFile := fs.String("token-file", "", "`FILE` holding a supervisor's API token")
	out := fs.String("out", "", "the backup `FILE` to write")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *base == "" || *tokenFile == "" || *out == "" {
		return usageErr("backup needs --url URL --token-file FILE --out FILE")
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErr("--url must be an http(s) URL")
	}
	if !strings.HasSuffix(u.Path, backupPath) {
		u.Path = strings.TrimSuffix(u.Path, "/") + backupPath
	}
	raw, err := os.ReadFile(*tokenFile)
	if err != nil {
		return fmt.Errorf("read token file: %w", err)
	}
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return fmt.Errorf("token file %s is empty", *tokenFile)
	}
	n, err := fetchBackup(ctx, u.String(), token, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "saved a backup of %d bytes to %s\n", n, *out)
	return nil
}

// fetchBackup downloads the backup at endpoint into a temporary file
// beside out, checks it and renames it to out.
func fetchBackup(ctx context.Context, endpoint, token, out string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	// No overall timeout (a large store takes a while); the answer's
	// headers must come soon.
	client := &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	}}
	res, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("backup refused: %s", refusal(res))
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.part")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, res.Body)
	if err != nil {
		return 0, fmt.Errorf("backup cut short after %d bytes: %w", n, err)
	}
	if err := tmp.Sync(); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	if err := bolt.CheckFile(tmp.Name()); err != nil {
		return 0, fmt.Errorf("the downloaded backup does not pass the check, nothing saved: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	done = true
	return n, nil
}

// refusal says why the daemon refused: its status and error message.
func refusal(res *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	var body httpapi.ErrorBody
	if json.Unmarshal(b, &body) == nil && body.Error.Code != "" {
		return fmt.Sprintf("%s: %s: %s", res.Status, body.Error.Code, body.Error.Message)
	}
	if s := strings.TrimSpace(string(b)); s != "" && !strings.ContainsAny(s, "\r\n") && len(s) <= 200 {
		return res.Status + ": " + s
	}
	return res.Status
}
