package tokens

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func testKeyBytes() []byte {
	b := make([]byte, KeySize)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

func TestParseKey(t *testing.T) {
	raw := testKeyBytes()
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"hex", hex.EncodeToString(raw), false},
		{"hex upper with newline", strings.ToUpper(hex.EncodeToString(raw)) + "\n", false},
		{"base64 std", base64.StdEncoding.EncodeToString(raw), false},
		{"base64 raw std", base64.RawStdEncoding.EncodeToString(raw), false},
		{"base64 url", base64.URLEncoding.EncodeToString(raw), false},
		{"base64 raw url", base64.RawURLEncoding.EncodeToString(raw), false},
		{"empty", "", true},
		{"blank", "  \n", true},
		{"short base64", base64.StdEncoding.EncodeToString(raw[:16]), true},
		{"long base64", base64.StdEncoding.EncodeToString(append(raw, 1)), true},
		{"short hex", hex.EncodeToString(raw[:31]), true},
		{"passphrase", "correct horse battery staple", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrBadKey) {
					t.Fatalf("ParseKey: err = %v, want ErrBadKey", err)
				}
				if tt.in != "" && strings.TrimSpace(tt.in) != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
					t.Fatalf("error echoes the value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if !bytes.Equal(k.b[:], raw) {
				t.Fatalf("key bytes differ")
			}
		})
	}
}

func TestKeyNeverPrints(t *testing.T) {
	raw := testKeyBytes()
	k, err := NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("key", "key", k)
	j, _ := json.Marshal(struct{ K *Key }{k})
	outs := map[string]string{
		"%v": fmt.Sprintf("%v", k), "%s": fmt.Sprintf("%s", k), "%x": fmt.Sprintf("%x", k),
		"%#v": fmt.Sprintf("%#v", k), "%d": fmt.Sprintf("%d", k), "%+v": fmt.Sprintf("%+v", *k),
		"slog": logBuf.String(), "json": string(j),
	}
	forms := []string{hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw), string(raw), fmt.Sprint(raw)}
	for name, out := range outs {
		t.Run(name, func(t *testing.T) {
			for _, f := range forms {
				if strings.Contains(out, f) {
					t.Fatalf("%s reveals the key: %q", name, out)
				}
			}
		})
	}
}

func TestLoadKey(t *testing.T) {
	raw := testKeyBytes()
	write := func(t *testing.T, data []byte, mode os.FileMode) string {
		p := filepath.Join(t.TempDir(), "secret.key")
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		env     string
		path    func(t *testing.T) string
		want    []byte // nil: any key
		wantErr string
	}{
		{name: "env wins over file", env: base64.StdEncoding.EncodeToString(raw),
			path: func(t *testing.T) string { return write(t, bytes.Repeat([]byte{9}, 32), 0o600) }, want: raw},
		{name: "bad env is an error, not a fallback", env: "not-a-key",
			path:    func(t *testing.T) string { return write(t, raw, 0o600) },
			wantErr: EnvSecretKey},
		{name: "raw file", path: func(t *testing.T) string { return write(t, raw, 0o600) }, want: raw},
		{name: "hex file", path: func(t *testing.T) string { return write(t, []byte(hex.EncodeToString(raw)+"\n"), 0o400) }, want: raw},
		{name: "file readable by others", path: func(t *testing.T) string { return write(t, raw, 0o644) }, wantErr: "chmod 600"},
		{name: "file writable by group", path: func(t *testing.T) string { return write(t, raw, 0o620) }, wantErr: "chmod 600"},
		{name: "file of the wrong size", path: func(t *testing.T) string { return write(t, raw[:20], 0o600) }, wantErr: "holds 20 bytes"},
		{name: "directory", path: func(t *testing.T) string { return t.TempDir() }, wantErr: "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && strings.Contains(tt.wantErr, "chmod") {
				t.Skip("no POSIX modes")
			}
			k, err := LoadKey(tt.env, tt.path(t), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadKey: err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadKey: %v", err)
			}
			if !bytes.Equal(k.b[:], tt.want) {
				t.Fatal("wrong key")
			}
		})
	}
}

func TestLoadKeyCreatesFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "secret.key")
	k1, err := LoadKey("", path, nil)
	if err != nil {
		t.Fatalf("first LoadKey: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	if fi.Size() != KeySize {
		t.Fatalf("key file is %d bytes, want %d", fi.Size(), KeySize)
	}
	k2, err := LoadKey("", path, nil)
	if err != nil {
		t.Fatalf("second LoadKey: %v", err)
	}
	if k1.b != k2.b {
		t.Fatal("the second start read another key")
	}
	if k1.b == ([KeySize]byte{}) {
		t.Fatal("all-zero key")
	}
}

func TestKeyDerive(t *testing.T) {
	a, _ := ParseKey(strings.Repeat("ab", 32))
	b, _ := ParseKey(strings.Repeat("cd", 32))
	x, y := a.Derive("console"), a.Derive("console")
	if len(x) != 32 || string(x) != string(y) {
		t.Fatal("derive is not a stable 32-byte key")
	}
	if string(a.Derive("other")) == string(x) || string(b.Derive("console")) == string(x) {
		t.Fatal("different labels or keys derive the same key")
	}
	if strings.Contains(string(x), string(a.b[:8])) {
		t.Fatal("derived key carries the key")
	}
}
