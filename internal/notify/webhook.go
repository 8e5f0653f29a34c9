package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
)

// SignatureHeader carries "sha256=" + the hex HMAC-SHA256 of the body, keyed with the
// channel's secret; DeliveryHeader carries the delivery's id, the same on every retry,
// so a receiver can drop a repeat.
const (
	SignatureHeader = "X-Pingdeck-Signature"
	DeliveryHeader  = "X-Pingdeck-Delivery"
)

// Sign returns the X-Pingdeck-Signature value for body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether header is body's signature with secret.
func VerifySignature(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

// webhookBody is what a generic webhook receives.
type webhookBody struct {
	DeliveryID string `json:"delivery_id"`
	Notification
}

func (s *senders) sendWebhook(ctx context.Context, c *Channel, d *Delivery) error {
	cfg, err := decode[WebhookConfig](c)
	if err != nil {
		return permanent(err)
	}
	body, err := json.Marshal(webhookBody{DeliveryID: d.ID, Notification: d.Notification})
	if err != nil {
		return permanent(fmt.Errorf("encode: %w", err))
	}
	h := http.Header{}
	h.Set(SignatureHeader, Sign(c.Secret, body))
	h.Set(DeliveryHeader, d.ID)
	return post(ctx, s.http.forChannel(c), cfg.URL, body, h)
}
