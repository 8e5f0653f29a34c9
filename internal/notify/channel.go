package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"pingdeck/internal/groups"
)

// Kind is how a channel delivers.
type Kind string

// Channel kinds.
const (
	KindWebhook      Kind = "webhook"
	KindSlack        Kind = "slack"
	KindEmail        Kind = "email"
	KindAlertmanager Kind = "alertmanager"
)

// Kinds lists every channel kind.
var Kinds = []Kind{KindWebhook, KindSlack, KindEmail, KindAlertmanager}

// Channel is where notifications go. It belongs to a user or to a group (exactly one).
type Channel struct {
	ID           string
	OwnerUserID  string
	OwnerGroupID string
	Kind         Kind
	Name         string
	// Config is the kind's settings (WebhookConfig, …) as JSON, without the secret.
	Config json.RawMessage
	// Secret is the one write-only credential of the channel: the webhook's HMAC key,
	// Slack's incoming-webhook URL, the SMTP password, Alertmanager's basic-auth
	// password (or bearer token when no username is set).
	Secret string
	// AllowInternal lets the channel reach loopback and link-local addresses; only an
	// admin's create or update sets it.
	AllowInternal bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// WebhookConfig is a generic webhook: POST the notification as JSON to URL, signed
// with the channel's secret.
type WebhookConfig struct {
	URL string `json:"url"`
}

// SlackConfig is a Slack-compatible incoming webhook; its URL is the channel's secret.
type SlackConfig struct{}

// EmailConfig sends plain-text mail over SMTP.
type EmailConfig struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// TLS is "auto" (STARTTLS when the server offers it; the default), "starttls"
	// (refuse to send without it) or "tls" (implicit TLS, usually port 465).
	TLS string `json:"tls,omitempty"`
	// Username turns on AUTH (PLAIN or LOGIN, whichever the server offers) with the
	// channel's secret as the password.
	Username string   `json:"username,omitempty"`
	From     string   `json:"from"`
	To       []string `json:"to"`
}

// AlertmanagerConfig posts to an Alertmanager's /api/v2/alerts.
type AlertmanagerConfig struct {
	// URL is the Alertmanager's base URL, e.g. http://alertmanager:9093.
	URL string `json:"url"`
	// Username, with the secret as password, is sent as basic auth; without it a
	// secret is sent as a bearer token.
	Username string `json:"username,omitempty"`
	// Hold is how long a firing alert stays active in Alertmanager without news
	// (its endsAt), as a Go duration; default 24h. A resolve ends it at once.
	Hold string `json:"hold,omitempty"`
}

// TLS modes of EmailConfig.
const (
	tlsAuto     = "auto"
	tlsStartTLS = "starttls"
	tlsImplicit = "tls"
)

const defaultHold = 24 * time.Hour

// Validate checks the channel's name, kind, owner, config and secret, and returns the
// config in its canonical JSON form (defaults filled in). Errors name the field:
// "name", "kind", "config.url", "secret", ….
func (c *Channel) Validate() error {
	c.Name = strings.TrimSpace(c.Name)
	switch {
	case c.Name == "":
		return groups.Invalid("name", "is required")
	case len(c.Name) > 100:
		return groups.Invalid("name", "is longer than 100 characters")
	case (c.OwnerUserID == "") == (c.OwnerGroupID == ""):
		return groups.Invalid("group_id", "a channel belongs to either a user or a group")
	}
	cfg, err := c.parseConfig()
	if err != nil {
		return err
	}
	canonical, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("notify: encode config: %w", err)
	}
	c.Config = canonical
	return nil
}

// URL is the address the channel sends to over HTTP ("" for email).
func (c *Channel) URL() string {
	cfg, err := c.parseConfig()
	if err != nil {
		return ""
	}
	switch cfg := cfg.(type) {
	case *WebhookConfig:
		return cfg.URL
	case *AlertmanagerConfig:
		return cfg.URL
	case *SlackConfig:
		return c.Secret
	}
	return ""
}

// parseConfig decodes Config strictly into the kind's type and checks it.
func (c *Channel) parseConfig() (any, error) {
	raw := c.Config
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	var cfg any
	switch c.Kind {
	case KindWebhook:
		cfg = &WebhookConfig{}
	case KindSlack:
		cfg = &SlackConfig{}
	case KindEmail:
		cfg = &EmailConfig{}
	case KindAlertmanager:
		cfg = &AlertmanagerConfig{}
	default:
		return nil, groups.Invalid("kind", "must be one of webhook, slack, email, alertmanager; got %q", c.Kind)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, groups.Invalid("config", "is not a valid %s config: %v", c.Kind, err)
	}
	switch cfg := cfg.(type) {
	case *WebhookConfig:
		if err := checkURL("config.url", cfg.URL); err != nil {
			return nil, err
		}
		if len(c.Secret) < 16 {
			return nil, groups.Invalid("secret", "a webhook needs a signing secret of at least 16 characters")
		}
	case *SlackConfig:
		if err := checkURL("secret", c.Secret); err != nil {
			return nil, groups.Invalid("secret", "must be the Slack incoming-webhook URL: %s", err.(*groups.Error).Message)
		}
	case *EmailConfig:
		if err := cfg.check(); err != nil {
			return nil, err
		}
		if cfg.Username != "" && c.Secret == "" {
			return nil, groups.Invalid("secret", "the SMTP password is required when config.username is set")
		}
	case *AlertmanagerConfig:
		if err := checkURL("config.url", cfg.URL); err != nil {
			return nil, err
		}
		cfg.URL = strings.TrimRight(cfg.URL, "/")
		if _, err := cfg.hold(); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

func (e *EmailConfig) check() error {
	e.Host = strings.TrimSpace(e.Host)
	if e.TLS == "" {
		e.TLS = tlsAuto
	}
	switch {
	case e.Host == "" || strings.ContainsAny(e.Host, " /:@"):
		return groups.Invalid("config.host", "must be the SMTP server's host name or IP address")
	case e.Port < 1 || e.Port > 65535:
		return groups.Invalid("config.port", "must be a port number (587 for STARTTLS, 465 for TLS, 25)")
	case e.TLS != tlsAuto && e.TLS != tlsStartTLS && e.TLS != tlsImplicit:
		return groups.Invalid("config.tls", "must be auto, starttls or tls; got %q", e.TLS)
	case len(e.To) == 0:
		return groups.Invalid("config.to", "needs at least one recipient")
	case len(e.To) > 50:
		return groups.Invalid("config.to", "has more than 50 recipients")
	}
	if a, err := mail.ParseAddress(e.From); err != nil || strings.ContainsAny(e.From, "\r\n") {
		return groups.Invalid("config.from", "is not an email address: %q", e.From)
	} else {
		e.From = a.String()
	}
	for i, to := range e.To {
		a, err := mail.ParseAddress(to)
		if err != nil || strings.ContainsAny(to, "\r\n") {
			return groups.Invalid(fmt.Sprintf("config.to[%d]", i), "is not an email address: %q", to)
		}
		e.To[i] = a.Address
	}
	return nil
}

func (a *AlertmanagerConfig) hold() (time.Duration, error) {
	if a.Hold == "" {
		return defaultHold, nil
	}
	d, err := time.ParseDuration(a.Hold)
	if err != nil || d < time.Minute || d > 30*24*time.Hour {
		return 0, groups.Invalid("config.hold", "must be a duration from 1m to 720h, e.g. 24h; got %q", a.Hold)
	}
	return d, nil
}

// decode returns the channel's config as the kind's type.
func decode[T any](c *Channel) (*T, error) {
	cfg, err := c.parseConfig()
	if err != nil {
		return nil, err
	}
	t, ok := cfg.(*T)
	if !ok {
		return nil, fmt.Errorf("notify: channel %s is a %s channel", c.ID, c.Kind)
	}
	return t, nil
}
