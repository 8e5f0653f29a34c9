package wire

import (
	"slices"
	"time"

	"pingdeck/internal/groups"
)

// Owner is who owns a group.
type Owner struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// Group is a group as GET /api/v1/groups/{id} returns it to one viewer: its settings,
// the viewer's role and pin, and (when asked for) its targets.
type Group struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Owner      Owner       `json:"owner"`
	Role       groups.Role `json:"role"`
	Visibility string      `json:"visibility"`
	Interval   string      `json:"interval"`
	IntervalMs int64       `json:"interval_ms"`
	Timeout    string      `json:"timeout"`
	TimeoutMs  int64       `json:"timeout_ms"`
	PacketSize int         `json:"packet_size"`
	Paused     bool        `json:"paused"`
	// Metrics says whether the group's targets are exported at /metrics/targets.
	Metrics bool `json:"metrics"`
	// Locations are where the group is probed from (DESIGN §9); groups read from the
	// store always name theirs (the server's own location when they chose none).
	Locations   []string `json:"locations"`
	Pinned      bool     `json:"pinned"`
	TargetCount int      `json:"target_count"`
	// FiringAlerts, in the group list only, counts the group's alerts firing now.
	FiringAlerts *int      `json:"firing_alerts,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	Targets      []Target  `json:"targets,omitempty"`
	// Skipped, only in the answer of a request that added targets, lists the inputs
	// that were not added and why.
	Skipped []groups.SkippedInput `json:"skipped,omitempty"`
}

// GroupOf is g's settings as viewer with role sees them, with targetCount targets;
// it leaves out the targets themselves (see WithTargets) and the pin.
func GroupOf(g *groups.Group, role groups.Role, targetCount int) Group {
	return Group{
		ID: g.ID, Name: g.Name, Owner: Owner{ID: g.OwnerID, Username: g.OwnerName}, Role: role,
		Visibility: string(g.Visibility), Interval: g.Interval.String(), IntervalMs: g.Interval.Milliseconds(),
		Timeout: g.Timeout.String(), TimeoutMs: g.Timeout.Milliseconds(), PacketSize: g.PacketSize,
		Paused: g.Paused, Metrics: g.Metrics, Locations: slices.Clone(g.Locations), TargetCount: targetCount,
		CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt,
	}
}

// Target is a target as the REST API returns it. The live stream's snapshot targets
// are this object plus their live state (LiveTarget).
type Target struct {
	ID        string    `json:"id"`
	Address   string    `json:"address"`
	IP        *string   `json:"ip"`   // the resolved address; null until a hostname resolves
	Kind      string    `json:"kind"` // TargetKind
	Paused    bool      `json:"paused"`
	CreatedAt time.Time `json:"created_at"`
	// Unresolved, only in the answer of the request that added the target, says that its
	// hostname did not resolve then (allow_unresolved) and why.
	Unresolved string `json:"unresolved,omitempty"`
}

// Kinds of target.
const (
	KindIP       = "ip"       // entered as an IP address
	KindHostname = "hostname" // entered as a hostname
)

// TargetKind says whether t was entered as an IP address or as a hostname.
func TargetKind(t *groups.Target) string {
	if t.IP.IsValid() && t.IP.String() == t.Address {
		return KindIP
	}
	return KindHostname
}

// TargetOf is t as it goes on the wire.
func TargetOf(t *groups.Target) Target {
	out := Target{ID: t.ID, Address: t.Address, Kind: TargetKind(t), Paused: t.Paused, CreatedAt: t.CreatedAt}
	if t.IP.IsValid() {
		ip := t.IP.String()
		out.IP = &ip
	}
	return out
}

// TargetsOf is ts as they go on the wire.
func TargetsOf(ts []groups.Target) []Target {
	out := make([]Target, len(ts))
	for i := range ts {
		out[i] = TargetOf(&ts[i])
	}
	return out
}
