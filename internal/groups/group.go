// Package groups is pingdeck's domain: groups of ping targets, who may do what with
// them, how their settings and inputs are validated, and the error kinds every other
// package reports in. It imports only the standard library.
package groups

import (
	"net/netip"
	"slices"
	"time"
)

// Visibility says who besides the owner and named shares can see a group.
type Visibility string

// Visibilities.
const (
	Private Visibility = "private"
	Public  Visibility = "public"
)

// Probe settings: defaults and hard limits. The lower bound of the interval is a server
// setting (Limits.MinInterval) so an operator can keep the tool from becoming a flooder.
const (
	DefaultInterval   = time.Second
	DefaultTimeout    = time.Second
	DefaultPacketSize = 56 // ICMP payload bytes, as ping(8)
	MaxInterval       = time.Hour
	MinTimeout        = 10 * time.Millisecond
	MaxTimeout        = time.Minute
	MinPacketSize     = 24   // room for a send timestamp and a probe identity
	MaxPacketSize     = 1452 // one unfragmented packet on a 1500-byte MTU, IPv4 or IPv6
	MaxNameLength     = 100
)

// Limits are the server-wide bounds a group's settings are checked against.
type Limits struct {
	MinInterval       time.Duration
	MaxTargetsPerUser int // targets in all the groups one user owns; 0 is unlimited
	MaxGroupsPerUser  int // groups one user owns; 0 is unlimited
}

// Group is a named set of targets probed with the same settings: one card on the dashboard.
type Group struct {
	ID         string
	OwnerID    string
	OwnerName  string
	Name       string
	Visibility Visibility
	Interval   time.Duration
	Timeout    time.Duration
	PacketSize int
	Paused     bool
	// Metrics exports the group's targets at /metrics/targets (off by default: every
	// target is a set of Prometheus series, so cardinality is the user's choice).
	Metrics bool
	// Locations are where the group is probed from; none (a group being made) means
	// the server's own prober only (see ProbeLocations).
	Locations []string
	CreatedAt time.Time
	UpdatedAt time.Time
	Targets   []Target
}

// Target is one address in a group: an IP, or a hostname with the IP it last resolved to.
type Target struct {
	ID        string
	GroupID   string
	Address   string     // as entered, canonicalised
	IP        netip.Addr // zero until a hostname is resolved
	Paused    bool
	CreatedAt time.Time
}

// ApplyDefaults fills unset probe settings and visibility; the default interval is
// raised to the server minimum when that is higher.
func (g *Group) ApplyDefaults(l Limits) {
	if g.Interval == 0 {
		g.Interval = max(DefaultInterval, l.MinInterval)
	}
	if g.Timeout == 0 {
		g.Timeout = DefaultTimeout
	}
	if g.PacketSize == 0 {
		g.PacketSize = DefaultPacketSize
	}
	if g.Visibility == "" {
		g.Visibility = Private
	}
}

// Validate checks a group's own fields against the server limits.
func (g *Group) Validate(l Limits) error {
	name, err := CleanName("name", g.Name, MaxNameLength)
	if err != nil {
		return err
	}
	g.Name = name
	switch {
	case g.Visibility != Private && g.Visibility != Public:
		return Invalid("visibility", "must be %q or %q", Private, Public)
	case g.Interval%time.Millisecond != 0:
		return Invalid("interval", "must be a whole number of milliseconds")
	case g.Timeout%time.Millisecond != 0:
		return Invalid("timeout", "must be a whole number of milliseconds")
	case g.Interval < l.MinInterval:
		return Invalid("interval", "must be at least %s (server minimum)", l.MinInterval)
	case g.Interval > MaxInterval:
		return Invalid("interval", "must be at most %s", MaxInterval)
	case g.Timeout < MinTimeout || g.Timeout > MaxTimeout:
		return Invalid("timeout", "must be between %s and %s", MinTimeout, MaxTimeout)
	case g.PacketSize < MinPacketSize || g.PacketSize > MaxPacketSize:
		return Invalid("packet_size", "must be between %d and %d bytes", MinPacketSize, MaxPacketSize)
	case len(g.Locations) > 0:
		return CheckLocations(g.Locations)
	}
	return nil
}

// Patch is a partial update of a group; nil fields are left alone.
type Patch struct {
	Name       *string
	Interval   *time.Duration
	Timeout    *time.Duration
	PacketSize *int
	Visibility *Visibility
	Paused     *bool
	Metrics    *bool
}

// Action is what a patch needs the caller to be allowed to do: changing who can see a
// group is the owner's decision, the rest is an editor's.
func (p Patch) Action() Action {
	if p.Visibility != nil {
		return ActionManage
	}
	return ActionEdit
}

// Limits returns the limits to validate g against after applying p: an interval the
// patch leaves alone is kept even if the server minimum has since been raised, so
// renaming an old group does not fail on a setting nobody touched.
func (p Patch) Limits(g *Group, l Limits) Limits {
	if p.Interval == nil && g.Interval < l.MinInterval {
		l.MinInterval = g.Interval
	}
	return l
}

// Apply writes the set fields into g; call Validate afterwards.
func (p Patch) Apply(g *Group) {
	setIf(&g.Name, p.Name)
	setIf(&g.Interval, p.Interval)
	setIf(&g.Timeout, p.Timeout)
	setIf(&g.PacketSize, p.PacketSize)
	setIf(&g.Visibility, p.Visibility)
	setIf(&g.Paused, p.Paused)
	setIf(&g.Metrics, p.Metrics)
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// SameSettings reports whether two groups have the same user-visible settings; an
// idempotent create uses it to tell a retry from a change.
func (g *Group) SameSettings(o *Group) bool {
	return g.Name == o.Name && g.Visibility == o.Visibility && g.Interval == o.Interval &&
		g.Timeout == o.Timeout && g.PacketSize == o.PacketSize && g.Metrics == o.Metrics &&
		slices.Equal(g.Locations, o.Locations)
}

// TargetIDs returns the IDs of ts, in order.
func TargetIDs(ts []Target) []string {
	ids := make([]string, len(ts))
	for i := range ts {
		ids[i] = ts[i].ID
	}
	return ids
}
