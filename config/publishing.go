package config

import (
	"bytes"
	"fmt"
	"strings"
)

// EnvPublishingSecret holds the secret that signs replies sent to the
// publisher (SPEC §16); it wins over publishing.secret_file.
const EnvPublishingSecret = "CAREBRIDGE_PUBLISHING_SECRET"

// Publishing sends agents' replies to the customer through a webhook
// (SPEC §16). Off while WebhookURL is "".
type Publishing struct {
	WebhookURL string // the publisher's endpoint; "" = replies stay in Care
	SecretFile string // the signing secret; use Config.PublishingSecret()
}

// Enabled reports whether replies are published.
func (p Publishing) Enabled() bool { return p.WebhookURL != "" }

// PublishingSecret returns the secret that signs deliveries to the
// publisher: CAREBRIDGE_PUBLISHING_SECRET of the environment the config
// was loaded with, else the trimmed contents of publishing.secret_file
// (read now), else "".
func (c *Config) PublishingSecret() (Secret, error) {
	if c.env != nil && c.env.publishingSecret != "" {
		return c.env.publishingSecret, nil
	}
	if c.Publishing.SecretFile == "" {
		return "", nil
	}
	b, err := readSecretFile(c.Publishing.SecretFile)
	if err != nil {
		return "", fmt.Errorf("publishing secret: %w", err)
	}
	return Secret(strings.TrimSpace(string(b))), nil
}

// validatePublishing checks the publishing section as a whole: a webhook
// needs a secret (the file or the environment variable), and the file
// must be readable and not empty.
func (d *decoder) validatePublishing() {
	const urlKey, fileKey = "publishing.webhook_url", "publishing.secret_file"
	p := d.cfg.Publishing
	if file := p.SecretFile; file != "" {
		b, err := readSecretFile(file)
		switch {
		case err != nil:
			d.at(d.origins[fileKey], fileKey, fmt.Sprintf("cannot read %s: %s", quote(file), fileReason(err)))
		case len(bytes.TrimSpace(b)) == 0:
			d.at(d.origins[fileKey], fileKey, quote(file)+" is empty")
		}
	}
	if p.Enabled() && p.SecretFile == "" && d.env[EnvPublishingSecret] == "" {
		d.at(d.origins[urlKey], urlKey, "a publisher needs a signing secret: set publishing.secret_file or "+EnvPublishingSecret)
	}
}
