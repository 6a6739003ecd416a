package config_test

import (
	"path/filepath"
	"testing"

	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/connector/testworld/expect"
)

// The publishing section: a webhook needs a secret, from its file or the
// environment (which wins); each problem names file:line:col; the secret
// is never printed.
func TestPublishing(t *testing.T) {
	dir := t.TempDir()
	secretFile := expect.WriteFile(t, dir, "publisher.secret", "file-s3cret\n")
	empty := expect.WriteFile(t, dir, "empty", "")
	tests := []struct {
		name, yaml string
		env        []string
		wantErr    []string // substrings of the error, "" for none
		wantSecret string
	}{
		{name: "off by default", yaml: "listen: 127.0.0.1:1\n"},
		{name: "file", yaml: "publishing:\n  webhook_url: https://pub.example/r\n  secret_file: " + secretFile + "\n",
			wantSecret: "file-s3cret"},
		{name: "env wins", yaml: "publishing:\n  webhook_url: https://pub.example/r\n  secret_file: " + secretFile + "\n",
			env: []string{config.EnvPublishingSecret + "=env-s3cret"}, wantSecret: "env-s3cret"},
		{name: "env alone", yaml: "publishing:\n  webhook_url: https://pub.example/r\n",
			env: []string{config.EnvPublishingSecret + "=env-s3cret"}, wantSecret: "env-s3cret"},
		{name: "no secret", yaml: "publishing:\n  webhook_url: https://pub.example/r\n",
			wantErr: []string{"c.yaml:2:16: publishing.webhook_url", "signing secret"}},
		{name: "bad url", yaml: "publishing:\n  webhook_url: ftp://pub.example\n  secret_file: " + secretFile + "\n",
			wantErr: []string{"c.yaml:2:16: publishing.webhook_url", "http or https"}},
		{name: "missing file", yaml: "publishing:\n  webhook_url: https://pub.example/r\n  secret_file: " + filepath.Join(dir, "nope") + "\n",
			wantErr: []string{"c.yaml:3:16: publishing.secret_file", "cannot read"}},
		{name: "empty file", yaml: "publishing:\n  webhook_url: https://pub.example/r\n  secret_file: " + empty + "\n",
			wantErr: []string{"c.yaml:3:16: publishing.secret_file", "is empty"}},
		{name: "unknown key", yaml: "publishing:\n  webhook: https://pub.example/r\n",
			wantErr: []string{"c.yaml:2:3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("c.yaml", []byte(tt.yaml), tt.env)
			if len(tt.wantErr) > 0 {
				expect.ErrorSays(t, err, tt.wantErr...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s, err := c.PublishingSecret()
			if err != nil || s.Reveal() != tt.wantSecret {
				t.Errorf("PublishingSecret() = %q, %v; want %q", s.Reveal(), err, tt.wantSecret)
			}
			if c.Publishing.Enabled() != (tt.wantSecret != "") {
				t.Errorf("Enabled() = %v", c.Publishing.Enabled())
			}
			expect.NoSecret(t, "the printed and logged config", sprintf("%v %+v", c, c)+logJSON(t, "config", c), "s3cret")
		})
	}
}
