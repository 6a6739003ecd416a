package deploy

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

const unitFile = "systemd/carebridge.service"

// unit is a parsed systemd unit file: section → key → values in order
// (a key may repeat; an empty assignment resets the list, as systemd does).
type unit map[string]map[string][]string

// parseUnit reads systemd's INI dialect: [Section] headers, Key=Value lines,
// # and ; comments, backslash line continuations.
func parseUnit(r io.Reader) (unit, error) {
	u := unit{}
	section := ""
	sc := bufio.NewScanner(r)
	n := 0
	var pending string
	for sc.Scan() {
		n++
		line := sc.Text()
		if pending != "" {
			line = pending + " " + strings.TrimSpace(line)
			pending = ""
		}
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if strings.HasSuffix(t, `\`) {
			pending = strings.TrimSpace(strings.TrimSuffix(t, `\`))
			continue
		}
		if t[0] == '[' {
			if !strings.HasSuffix(t, "]") {
				return nil, fmt.Errorf("line %d: bad section header %q", n, t)
			}
			section = t[1 : len(t)-1]
			if _, dup := u[section]; dup {
				return nil, fmt.Errorf("line %d: section [%s] twice", n, section)
			}
			u[section] = map[string][]string{}
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("line %d: %q outside a section", n, t)
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not Key=Value", n, t)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if v == "" {
			u[section][k] = []string{""}
			continue
		}
		if vals := u[section][k]; len(vals) == 1 && vals[0] == "" {
			u[section][k] = nil
		}
		u[section][k] = append(u[section][k], v)
	}
	if pending != "" {
		return nil, fmt.Errorf("line %d: continuation at end of file", n)
	}
	return u, sc.Err()
}

// last is a key's effective single value ("" when unset).
func (u unit) last(section, key string) (string, bool) {
	vals, ok := u[section][key]
	if !ok || len(vals) == 0 {
		return "", ok
	}
	return vals[len(vals)-1], true
}

func TestParseUnit(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		section string
		key     string
		want    []string
		wantErr bool
	}{
		{"simple", "[Service]\nType=simple\n", "Service", "Type", []string{"simple"}, false},
		{"comments", "# c\n; c\n[Service]\n# Type=notify\nType=simple\n", "Service", "Type", []string{"simple"}, false},
		{"repeated", "[Service]\nEnvironment=A=1\nEnvironment=B=2\n", "Service", "Environment", []string{"A=1", "B=2"}, false},
		{"reset", "[Service]\nSystemCallFilter=@a\nSystemCallFilter=\nSystemCallFilter=@b\n", "Service", "SystemCallFilter", []string{"@b"}, false},
		{"empty", "[Service]\nCapabilityBoundingSet=\n", "Service", "CapabilityBoundingSet", []string{""}, false},
		{"continuation", "[Service]\nExecStart=/bin/x \\\n  --flag\n", "Service", "ExecStart", []string{"/bin/x --flag"}, false},
		{"outside a section", "Type=simple\n", "", "", nil, true},
		{"not key=value", "[Service]\nType simple\n", "", "", nil, true},
		{"duplicate section", "[Service]\n[Service]\n", "", "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := parseUnit(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && !slices.Equal(u[tt.section][tt.key], tt.want) {
				t.Errorf("%s.%s = %q, want %q", tt.section, tt.key, u[tt.section][tt.key], tt.want)
			}
		})
	}
}

func readUnit(t *testing.T) unit {
	t.Helper()
	return parseFile(t, unitFile, parseUnit)
}

func TestSystemdUnit(t *testing.T) {
	u := readUnit(t)
	// Single-valued keys and the value they must have.
	exact := []struct{ section, key, want string }{
		{"Service", "Type", "simple"}, // the daemon does not speak sd_notify
		{"Service", "ExecReload", "/bin/kill -HUP $MAINPID"},
		{"Service", "Restart", "on-failure"},
		{"Service", "DynamicUser", "yes"},
		{"Service", "StateDirectory", "carebridge"},
		{"Service", "StateDirectoryMode", "0700"},
		{"Service", "ConfigurationDirectory", "carebridge"},
		{"Service", "UMask", "0077"},
		{"Service", "NoNewPrivileges", "yes"},
		{"Service", "ProtectSystem", "strict"},
		{"Service", "ProtectHome", "yes"},
		{"Service", "PrivateTmp", "yes"},
		{"Service", "PrivateDevices", "yes"},
		{"Service", "ProtectKernelTunables", "yes"},
		{"Service", "ProtectKernelModules", "yes"},
		{"Service", "ProtectKernelLogs", "yes"},
		{"Service", "ProtectControlGroups", "yes"},
		{"Service", "ProtectClock", "yes"},
		{"Service", "ProtectHostname", "yes"},
		{"Service", "RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
		{"Service", "RestrictNamespaces", "yes"},
		{"Service", "RestrictSUIDSGID", "yes"},
		{"Service", "RestrictRealtime", "yes"},
		{"Service", "MemoryDenyWriteExecute", "yes"},
		{"Service", "LockPersonality", "yes"},
		{"Service", "SystemCallArchitectures", "native"},
		{"Service", "CapabilityBoundingSet", ""},
		{"Service", "AmbientCapabilities", ""},
		{"Install", "WantedBy", "multi-user.target"},
	}
	for _, tt := range exact {
		t.Run(tt.section+"."+tt.key, func(t *testing.T) {
			got, ok := u.last(tt.section, tt.key)
			if !ok {
				t.Fatalf("[%s] %s is not set", tt.section, tt.key)
			}
			if got != tt.want {
				t.Errorf("[%s] %s=%s, want %q", tt.section, tt.key, got, tt.want)
			}
		})
	}

	t.Run("ExecStart", func(t *testing.T) {
		got, _ := u.last("Service", "ExecStart")
		f := strings.Fields(got)
		if len(f) != 4 || !strings.HasPrefix(f[0], "/") || !strings.HasSuffix(f[0], "/carebridge") ||
			f[1] != "serve" || f[2] != "--config" || f[3] != "/etc/carebridge/carebridge.yaml" {
			t.Errorf("ExecStart=%s, want /…/carebridge serve --config /etc/carebridge/carebridge.yaml", got)
		}
		// .ci/check-deploy rewrites this exact prefix to a freshly built binary.
		if f[0] != "/usr/local/bin/carebridge" {
			t.Errorf("ExecStart binary %s: .ci/check-deploy expects /usr/local/bin/carebridge", f[0])
		}
	})

	t.Run("Environment", func(t *testing.T) {
		env := u["Service"]["Environment"]
		for _, want := range []string{"CAREBRIDGE_DATA_DIR=%S/carebridge", "CAREBRIDGE_SALESFORCE_CLIENT_SECRET_FILE=%d/salesforce-client-secret"} {
			if !slices.Contains(env, want) {
				t.Errorf("Environment %q missing (have %q)", want, env)
			}
		}
		for _, e := range env {
			if strings.Contains(e, "SECRET=") || strings.Contains(e, "SECRET_KEY=") {
				t.Errorf("Environment=%s puts a secret in the unit file", e)
			}
		}
	})

	t.Run("secrets by credential", func(t *testing.T) {
		creds := u["Service"]["LoadCredential"]
		if !slices.Contains(creds, "salesforce-client-secret:/etc/carebridge/salesforce-client-secret") {
			t.Errorf("LoadCredential %q: want salesforce-client-secret from /etc/carebridge", creds)
		}
		for _, f := range u["Service"]["EnvironmentFile"] {
			if !strings.HasPrefix(f, "-") {
				t.Errorf("EnvironmentFile=%s: make it optional with a leading -", f)
			}
		}
	})

	t.Run("SystemCallFilter", func(t *testing.T) {
		f := u["Service"]["SystemCallFilter"]
		if len(f) == 0 || f[0] != "@system-service" {
			t.Errorf("SystemCallFilter %q: want @system-service first", f)
		}
		if slices.ContainsFunc(f, func(s string) bool { return strings.HasPrefix(s, "~") && strings.Contains(s, "@system-service") }) {
			t.Error("SystemCallFilter denies @system-service")
		}
	})

	t.Run("no ReadWritePaths beyond the state directory", func(t *testing.T) {
		for _, p := range u["Service"]["ReadWritePaths"] {
			if !strings.Contains(p, "carebridge") {
				t.Errorf("ReadWritePaths=%s opens more than carebridge's own state", p)
			}
		}
	})

	t.Run("restart and stop timing", func(t *testing.T) {
		rs, _ := u.last("Service", "RestartSec")
		if d, err := time.ParseDuration(rs); err != nil || d < time.Second {
			t.Errorf("RestartSec=%s, want at least 1s", rs)
		}
		ts, _ := u.last("Service", "TimeoutStopSec")
		d, err := time.ParseDuration(ts)
		if err != nil {
			t.Fatalf("TimeoutStopSec=%s: %v", ts, err)
		}
		// The same drain budget on both platforms.
		sts := onlyStatefulSet(t, loadManifests(t))
		if g := sts.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second != d {
			t.Errorf("TimeoutStopSec=%s differs from the StatefulSet's terminationGracePeriodSeconds %s", ts, deref(g))
		}
		if d < 20*time.Second {
			t.Errorf("TimeoutStopSec=%s is shorter than the HTTP drain (15s) plus deliveries", ts)
		}
	})

	t.Run("no root", func(t *testing.T) {
		if usr, ok := u.last("Service", "User"); ok && (usr == "root" || usr == "0") {
			t.Error("User=root")
		}
		if _, ok := u.last("Service", "PermissionsStartOnly"); ok {
			t.Error("PermissionsStartOnly is deprecated")
		}
	})
}
