package config

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
	var env Secret
	if c.env != nil {
		env = c.env.publishingSecret
	}
	return secretOf(env, c.Publishing.SecretFile, "publishing secret")
}

// validatePublishing checks that a webhook has a signing secret (the file,
// checked with the other secret files, or the environment variable).
func (d *decoder) validatePublishing() {
	const urlKey = "publishing.webhook_url"
	if p := d.cfg.Publishing; p.Enabled() && p.SecretFile == "" && d.env[EnvPublishingSecret] == "" {
		d.at(d.origins[urlKey], urlKey, "a publisher needs a signing secret: set publishing.secret_file or "+EnvPublishingSecret)
	}
}
