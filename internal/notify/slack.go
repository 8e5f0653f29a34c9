package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// slackMessage is an incoming-webhook message: text (the notification fallback) and
// one section block with the same in mrkdwn.
type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks,omitempty"`
}

type slackBlock struct {
	Type string     `json:"type"`
	Text *slackText `json:"text,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func slackMessageOf(n *Notification) slackMessage {
	icon := ":red_circle:"
	if n.State == Resolved {
		icon = ":large_green_circle:"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s *%s*", icon, slackEscape(n.subject()))
	if f := n.figures(); f != "" {
		fmt.Fprintf(&b, "\n%s", slackEscape(f))
	}
	fmt.Fprintf(&b, "\nsince %s", n.Since.UTC().Format("2006-01-02 15:04:05 MST"))
	if n.URL != "" {
		fmt.Fprintf(&b, " · <%s|open in pingdeck>", slackEscape(n.URL))
	}
	return slackMessage{
		Text:   slackEscape(n.subject()),
		Blocks: []slackBlock{{Type: "section", Text: &slackText{Type: "mrkdwn", Text: b.String()}}},
	}
}

func (s *senders) sendSlack(ctx context.Context, c *Channel, d *Delivery) error {
	body, err := json.Marshal(slackMessageOf(&d.Notification))
	if err != nil {
		return permanent(fmt.Errorf("encode: %w", err))
	}
	return post(ctx, s.http.forChannel(c), c.Secret, body, http.Header{})
}
