package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"time"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// durationJSON accepts "1s"/"500ms" or a number of milliseconds.
type durationJSON time.Duration

var durationType = reflect.TypeFor[durationJSON]()

// UnmarshalJSON implements json.Unmarshaler.
func (d *durationJSON) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(b, []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return &json.UnmarshalTypeError{Value: "string " + string(b), Type: durationType}
		}
		*d = durationJSON(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: durationType}
	}
	*d = durationJSON(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

// targetList accepts a list of strings or one string; either may hold pasted text.
type targetList []string

var targetListType = reflect.TypeFor[targetList]()

// UnmarshalJSON implements json.Unmarshaler.
func (t *targetList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*t = targetList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: targetListType}
	}
	*t = many
	return nil
}

func durationPtr(d *durationJSON) *time.Duration {
	if d == nil {
		return nil
	}
	v := time.Duration(*d)
	return &v
}

type userJSON struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	IsAdmin     bool      `json:"is_admin"`
	CreatedAt   time.Time `json:"created_at"`
}

func userOut(u *auth.User) userJSON {
	return userJSON{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, IsAdmin: u.IsAdmin, CreatedAt: u.CreatedAt}
}

type tokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Token      string     `json:"token,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

func tokenOut(t *auth.Token) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt}
}

type ownerJSON struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

type groupJSON struct {
	ID          string                `json:"id"`
	Name        string                `json:"name"`
	Owner       ownerJSON             `json:"owner"`
	Role        groups.Role           `json:"role"`
	Visibility  string                `json:"visibility"`
	Interval    string                `json:"interval"`
	IntervalMs  int64                 `json:"interval_ms"`
	Timeout     string                `json:"timeout"`
	TimeoutMs   int64                 `json:"timeout_ms"`
	PacketSize  int                   `json:"packet_size"`
	Paused      bool                  `json:"paused"`
	Pinned      bool                  `json:"pinned"`
	TargetCount int                   `json:"target_count"`
	CreatedAt   time.Time             `json:"created_at"`
	UpdatedAt   time.Time             `json:"updated_at"`
	Targets     []targetJSON          `json:"targets,omitempty"`
	Skipped     []groups.SkippedInput `json:"skipped,omitempty"`
}

func groupOut(g *groups.Group, role groups.Role, targetCount int) groupJSON {
	out := groupJSON{
		ID: g.ID, Name: g.Name, Owner: ownerJSON{ID: g.OwnerID, Username: g.OwnerName}, Role: role,
		Visibility: string(g.Visibility), Interval: g.Interval.String(), IntervalMs: g.Interval.Milliseconds(),
		Timeout: g.Timeout.String(), TimeoutMs: g.Timeout.Milliseconds(), PacketSize: g.PacketSize,
		Paused: g.Paused, TargetCount: targetCount, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt,
	}
	if g.Targets != nil {
		out.Targets = targetsOut(g.Targets)
		out.TargetCount = len(g.Targets)
	}
	return out
}

type targetJSON struct {
	ID        string    `json:"id"`
	Address   string    `json:"address"`
	IP        *string   `json:"ip"`
	Kind      string    `json:"kind"`
	Paused    bool      `json:"paused"`
	CreatedAt time.Time `json:"created_at"`
}

func targetOut(t *groups.Target) targetJSON {
	out := targetJSON{ID: t.ID, Address: t.Address, Kind: "hostname", Paused: t.Paused, CreatedAt: t.CreatedAt}
	if t.IP.IsValid() {
		ip := t.IP.String()
		out.IP = &ip
		if ip == t.Address {
			out.Kind = "ip"
		}
	}
	return out
}

func targetsOut(ts []groups.Target) []targetJSON {
	out := make([]targetJSON, len(ts))
	for i := range ts {
		out[i] = targetOut(&ts[i])
	}
	return out
}

func groupViewOut(v *store.GroupWithRole, role groups.Role) groupJSON {
	out := groupOut(v.Group, role, v.TargetCount)
	out.Pinned = v.Pinned
	return out
}
