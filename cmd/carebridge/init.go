package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/config/atomicfile"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

// The files init writes, relative to --dir.
const (
	initConfigFile  = "carebridge.yaml"
	initMappingFile = "mapping.yaml"
	initDataDir     = "carebridge-data"
)

// initCmd is `carebridge init [--dir DIR] [--public-url URL] [--login-url
// URL] [--salesforce-org-id ID] [--force]`: a commented config with every
// key, the sample mapping,
// the data directory with its token key, and a first supervisor whose token
// is printed once.
func initCmd(args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlagSet("init", stderr)
	dir := fs.String("dir", ".", "write into `DIR` (created when missing)")
	publicURL := fs.String("public-url", "", "the `URL` people and Salesforce reach carebridge at (default "+config.Default().PublicURL+")")
	loginURL := fs.String("login-url", "", "the Salesforce login `URL` (a My Domain, or a simulator); default: by salesforce.environment")
	orgID := fs.String("salesforce-org-id", "", "the Salesforce org `ID` carebridge serves (salesforce.org_id: Setup → Company Information → Salesforce.com Organization ID); default: the org of the first default token connected")
	force := fs.Bool("force", false, "overwrite an existing carebridge.yaml and mapping.yaml (an existing store and key are kept)")
	id := fs.String("id", "admin", "the first supervisor's user `ID`")
	name := fs.String("name", "Administrator", "the first supervisor's `NAME`")
	email := fs.String("email", "", "the first supervisor's `EMAIL` (the one of their Salesforce user, to sign in with Salesforce)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErr("init takes no arguments (the directory is --dir)")
	}
	token := randomToken()
	sum := sha256.Sum256([]byte(token))
	c := config.Default()
	c.DataDir = "./" + initDataDir
	c.MappingFile = "./" + initMappingFile
	if *publicURL != "" {
		c.PublicURL = *publicURL
	}
	c.Salesforce.LoginURL = *loginURL
	c.Salesforce.OrgID = *orgID
	c.Auth.Users = []config.User{{ID: *id, Name: *name, Email: *email, Role: config.RoleSupervisor,
		TokenSHA256: hex.EncodeToString(sum[:])}}
	text := config.Template(&c)
	cfgPath := filepath.Join(*dir, initConfigFile)
	cfg, err := config.Parse(cfgPath, text, environ)
	if err != nil {
		// Only the flags can make the template invalid.
		return usageErr("the flags make an invalid config:\n%v", err)
	}
	mappingPath := filepath.Join(*dir, initMappingFile)
	if !*force {
		for _, p := range []string{cfgPath, mappingPath} {
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("%s exists: not overwriting it (--force overwrites the config and the mapping)", p)
			}
		}
	}
	if err := refuseUsedDataDir(cfg, *force); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	// The config holds token hashes: only its owner reads it.
	if err := atomicfile.Write(cfgPath, text, 0o600); err != nil {
		return err
	}
	if err := atomicfile.Write(mappingPath, mapping.Sample(), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	keyNote := "CAREBRIDGE_SECRET_KEY is set: no key file written; keep that variable"
	if cfg.SecretKeyEnv() == "" {
		if _, err := tokens.LoadKey("", cfg.SecretKeyPath(), nil); err != nil {
			return err
		}
		keyNote = cfg.SecretKeyPath() + " (0600) encrypts the stored Salesforce tokens: back it up, keep it secret"
	}
	fmt.Fprintf(stdout, `carebridge init wrote:
  %-40s the config: every key with its default and a comment
  %-40s the Salesforce mapping (SPEC §5); check it with carebridge mapping check
  %-40s the data directory: the store and the token key
  %s

`, cfgPath, mappingPath, cfg.DataDir+string(filepath.Separator), keyNote)
	printToken(stdout, c.Auth.Users[0], token)
	fmt.Fprintf(stdout, `
Next steps:
  1. Start the daemon:     carebridge serve --config %[1]s
  2. Open the console:     %[2]s/ and sign in with the token above
  3. Set up Salesforce:    the org kit in deploy/salesforce (README.md there: fields, the
                           message object, the permission set, the connected app with the
                           callback %[3]s)
  4. Put the connected app's consumer key in salesforce.client_id, its secret in
     CAREBRIDGE_SALESFORCE_CLIENT_SECRET, restart, and connect the default token on
     Settings → Salesforce in the console (signed in with the token above: Sign in
     with Salesforce opens once the org is known, or set salesforce.org_id)
  5. Add people:           carebridge user add --config %[1]s --name "Alice Agent" --email alice@example.com --role agent
`, cfgPath, cfg.PublicURL, cfg.RedirectURL())
	return nil
}

// printToken prints a new user's token, the one time it is shown.
func printToken(w io.Writer, u config.User, token string) {
	fmt.Fprintf(w, "The %s %q signs in with this token; it is shown once (only its SHA-256 is stored):\n\n", u.Role, u.ID)
	fmt.Fprintf(w, "  token for %s: %s\n", u.ID, token)
}

// refuseUsedDataDir refuses a data directory that already holds files,
// unless force: then they are kept (init never removes a store or a key).
func refuseUsedDataDir(cfg *config.Config, force bool) error {
	entries, err := os.ReadDir(cfg.DataDir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	if !force {
		return fmt.Errorf("%s exists and is not empty: not touching it (--force writes the config and mapping and keeps it as it is)", cfg.DataDir)
	}
	return nil
}
