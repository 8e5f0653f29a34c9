// Package notify delivers alert notifications to channels — generic webhooks, Slack
// incoming webhooks, email over SMTP and Prometheus Alertmanager — at least once and
// without duplicates: every delivery is stored before it is sent, a Dispatcher sends
// what is due with bounded retries, and a delivery is marked sent in the step that
// records its confirmation.
package notify

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// State is what an alert transition announces.
type State string

// States.
const (
	Firing   State = "firing"
	Resolved State = "resolved"
)

// Notification is one alert transition (firing or resolved) as channels receive it.
type Notification struct {
	// ID identifies the transition: one ID per (alert, firing/resolved step). A channel
	// gets at most one delivery per ID, however often it is enqueued.
	ID string `json:"id"`
	// AlertID is the alert; its firing and resolved notifications share it.
	AlertID  string `json:"alert_id"`
	State    State  `json:"state"`
	Rule     string `json:"rule"`
	Group    string `json:"group"`
	Target   string `json:"target,omitempty"`
	Location string `json:"location,omitempty"`
	// Severity is "critical" (down) or "warning" (degraded); empty means "warning".
	Severity string `json:"severity,omitempty"`
	// Since is when the alert began firing.
	Since time.Time `json:"since"`
	// ResolvedAt is when it resolved (zero while firing).
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Figures are the numbers behind the transition, e.g. "loss_pct", "rtt_p95_ms".
	Figures map[string]float64 `json:"figures,omitempty"`
	// URL opens the group or target in pingdeck.
	URL string `json:"url,omitempty"`
	// Test marks a "send test" notification: it is tried once, never retried.
	Test bool `json:"test,omitempty"`
}

// Validate checks what every channel needs.
func (n *Notification) Validate() error {
	switch {
	case n.ID == "":
		return fmt.Errorf("notify: notification without an id")
	case n.State != Firing && n.State != Resolved:
		return fmt.Errorf("notify: notification %s: state %q is neither firing nor resolved", n.ID, n.State)
	case n.Rule == "":
		return fmt.Errorf("notify: notification %s: no rule name", n.ID)
	case n.Since.IsZero():
		return fmt.Errorf("notify: notification %s: no since time", n.ID)
	}
	return nil
}

func (n *Notification) severity() string {
	if n.Severity == "" {
		return "warning"
	}
	return n.Severity
}

// subject is a one-line summary: "[FIRING] rule: group/target".
func (n *Notification) subject() string {
	what := n.Group
	if n.Target != "" {
		what += "/" + n.Target
	}
	if n.Location != "" {
		what += " from " + n.Location
	}
	s := fmt.Sprintf("[%s] %s: %s", strings.ToUpper(string(n.State)), n.Rule, what)
	if n.Test {
		s = "[TEST] " + s
	}
	return oneLine(s)
}

// body is the plain-text description used by email and as Slack's fallback text.
func (n *Notification) body() string {
	var b strings.Builder
	b.WriteString(n.subject() + "\n\n")
	fmt.Fprintf(&b, "Rule:     %s\nGroup:    %s\n", n.Rule, n.Group)
	if n.Target != "" {
		fmt.Fprintf(&b, "Target:   %s\n", n.Target)
	}
	if n.Location != "" {
		fmt.Fprintf(&b, "Location: %s\n", n.Location)
	}
	fmt.Fprintf(&b, "Severity: %s\nSince:    %s\n", n.severity(), n.Since.UTC().Format(time.RFC3339))
	if !n.ResolvedAt.IsZero() {
		fmt.Fprintf(&b, "Resolved: %s\n", n.ResolvedAt.UTC().Format(time.RFC3339))
	}
	if f := n.figures(); f != "" {
		fmt.Fprintf(&b, "Figures:  %s\n", f)
	}
	if n.URL != "" {
		fmt.Fprintf(&b, "\n%s\n", n.URL)
	}
	return b.String()
}

// figures renders the figures sorted by name: "loss_pct=100 rtt_p95_ms=12.5".
func (n *Notification) figures() string {
	parts := make([]string, 0, len(n.Figures))
	for _, k := range slices.Sorted(maps.Keys(n.Figures)) {
		parts = append(parts, k+"="+strconv.FormatFloat(n.Figures[k], 'f', -1, 64))
	}
	return strings.Join(parts, " ")
}

// oneLine drops line breaks, so names cannot add mail headers or Slack lines.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}
