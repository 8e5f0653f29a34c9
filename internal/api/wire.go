package api

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/store"
	"pingdeck/internal/wire"
)

// durationJSON accepts "1s"/"500ms" or a number of milliseconds. A value beyond what a
// time.Duration holds (about ±292 years) becomes the largest (or smallest) one, so a
// check of its range says it is too large instead of seeing a wrapped-around number.
type durationJSON time.Duration

var durationType = reflect.TypeFor[durationJSON]()

// digitRun is a run of digits in a duration string; see UnmarshalJSON.
var digitRun = regexp.MustCompile(`[0-9]+`)

// UnmarshalJSON implements json.Unmarshaler.
func (d *durationJSON) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(b, []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			// ParseDuration fails alike on bad syntax and on overflow; with every number
			// made 1 it parses exactly when only the size was wrong.
			if _, serr := time.ParseDuration(digitRun.ReplaceAllString(s, "1")); serr != nil {
				return &json.UnmarshalTypeError{Value: "string " + string(b), Type: durationType}
			}
			v = saturate(!strings.HasPrefix(s, "-"))
		}
		*d = durationJSON(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		// A number too large for a float64 (1e400) is still a number: ±Inf. (The
		// decoder calls UnmarshalJSON only with valid JSON, so "Inf" cannot come here.)
		f, _ := strconv.ParseFloat(string(b), 64)
		if !math.IsInf(f, 0) {
			return &json.UnmarshalTypeError{Value: string(b), Type: durationType}
		}
		ms = f
	}
	ns := ms * float64(time.Millisecond)
	switch {
	case ns >= math.MaxInt64:
		*d = durationJSON(saturate(true))
	case ns <= math.MinInt64:
		*d = durationJSON(saturate(false))
	default:
		*d = durationJSON(time.Duration(ns))
	}
	return nil
}

// saturate is the largest duration, or the smallest when positive is false.
func saturate(positive bool) time.Duration {
	if positive {
		return math.MaxInt64
	}
	return math.MinInt64
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

// userOut is u as the REST API lists it.
func userOut(u *auth.User) wire.User {
	return wire.User{Identity: wire.Identity{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, IsAdmin: u.IsAdmin},
		CreatedAt: u.CreatedAt}
}

// meJSON is the signed-in user as they see themselves.
type meJSON struct {
	wire.User
	// MustChangePassword: an administrator set the password; the UI asks for a new one
	// and the API refuses everything else until then.
	MustChangePassword bool `json:"must_change_password"`
}

func meOut(u *auth.User) meJSON {
	return meJSON{User: userOut(u), MustChangePassword: u.MustChangePassword}
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

// groupOut is g as viewer with role sees it; with its targets when g has them loaded.
func (s *server) groupOut(g *groups.Group, role groups.Role, targetCount int) wire.Group {
	out := wire.GroupOf(g, role, targetCount)
	out.Locations = g.ProbeLocations(s.locations().Own())
	if g.Targets != nil {
		out.Targets = wire.TargetsOf(g.Targets)
		out.TargetCount = len(g.Targets)
	}
	return out
}

// markUnresolved sets Unresolved on the targets named in unresolved (ID → reason).
func markUnresolved(ts []wire.Target, unresolved map[string]string) []wire.Target {
	for i := range ts {
		ts[i].Unresolved = unresolved[ts[i].ID]
	}
	return ts
}

func (s *server) groupViewOut(v *store.GroupWithRole, role groups.Role) wire.Group {
	out := s.groupOut(v.Group, role, v.TargetCount)
	out.Pinned = v.Pinned
	return out
}
