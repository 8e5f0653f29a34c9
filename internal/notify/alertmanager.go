package notify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// amAlert is one alert of Alertmanager's POST /api/v2/alerts.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// amAlertOf maps a notification to Alertmanager's model: the labels identify the
// alert (so its resolve matches its firing); a firing alert is active until now+hold,
// a resolved one ends at its resolve time.
func amAlertOf(n *Notification, now time.Time, hold time.Duration) amAlert {
	labels := map[string]string{"alertname": n.Rule, "severity": n.severity(), "source": "pingdeck"}
	for k, v := range map[string]string{"group": n.Group, "target": n.Target, "location": n.Location} {
		if v != "" {
			labels[k] = v
		}
	}
	a := amAlert{
		Labels: labels,
		Annotations: map[string]string{
			"summary":     n.subject(),
			"description": n.body(),
		},
		StartsAt:     n.Since.UTC(),
		EndsAt:       now.Add(hold).UTC(),
		GeneratorURL: n.URL,
	}
	if f := n.figures(); f != "" {
		a.Annotations["figures"] = f
	}
	if n.State == Resolved {
		a.EndsAt = n.ResolvedAt.UTC()
		if a.EndsAt.IsZero() {
			a.EndsAt = now.UTC()
		}
	}
	return a
}

func (s *senders) sendAlertmanager(ctx context.Context, c *Channel, d *Delivery) error {
	cfg, err := decode[AlertmanagerConfig](c)
	if err != nil {
		return permanent(err)
	}
	hold, err := cfg.hold()
	if err != nil {
		return permanent(err)
	}
	body, err := json.Marshal([]amAlert{amAlertOf(&d.Notification, s.now(), hold)})
	if err != nil {
		return permanent(fmt.Errorf("encode: %w", err))
	}
	h := http.Header{}
	switch {
	case cfg.Username != "":
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+c.Secret)))
	case c.Secret != "":
		h.Set("Authorization", "Bearer "+c.Secret)
	}
	return post(ctx, s.http.forChannel(c), cfg.URL+"/api/v2/alerts", body, h)
}
