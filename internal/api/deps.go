// Package api is pingdeck's HTTP interface: the JSON API under /api/v1, health and
// metrics endpoints, and the embedded dashboard, all on one gin engine.
package api

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/live"
	"pingdeck/internal/notify"
	"pingdeck/internal/store"
)

// GroupStore is the persistence the group and target handlers need.
type GroupStore interface {
	CreateGroup(ctx context.Context, g *groups.Group, q store.Quota) (overQuota []groups.Target, err error)
	GroupFor(ctx context.Context, id, viewerID string) (*store.GroupWithRole, error)
	GroupsFor(ctx context.Context, viewer groups.Actor, scope store.GroupScope) ([]store.GroupWithRole, error)
	UpdateGroup(ctx context.Context, g *groups.Group) error
	DeleteGroup(ctx context.Context, id string) error
	AddTargets(ctx context.Context, groupID string, ts []groups.Target, q store.Quota) (added, overQuota []groups.Target, err error)
	Targets(ctx context.Context, groupID string) ([]groups.Target, error)
	Target(ctx context.Context, groupID, targetID string) (*groups.Target, error)
	SetTargetPaused(ctx context.Context, groupID, targetID string, paused bool) error
	DeleteTarget(ctx context.Context, groupID, targetID string) error
	SetTargetsPaused(ctx context.Context, groupID string, targetIDs []string, paused bool) (int64, error)
	DeleteTargets(ctx context.Context, groupID string, targetIDs []string) (int64, error)
	ResultStats(ctx context.Context, targetIDs []string, from, to time.Time) (map[string]store.WindowStats, error)
	ResultStatsByLocation(ctx context.Context, targetIDs []string, location string, from, to time.Time) (map[string]map[string]store.WindowStats, error)
	Report(ctx context.Context, q store.ReportQuery) (*store.Report, error)
	Samples(ctx context.Context, q store.SampleQuery) ([]store.Sample, error)
	SharingStore
	UserAdminStore
	EventStore
}

var _ GroupStore = (*store.Store)(nil)

// Deps is everything the HTTP layer is wired to.
type Deps struct {
	Store    GroupStore
	Accounts *auth.Service
	Limits   groups.Limits
	Policy   groups.TargetPolicy
	// Resolver checks, when targets are added, that their hostnames resolve; nil
	// checks nothing.
	Resolver HostResolver
	Logger   *slog.Logger
	// Registry receives the HTTP metrics and serves /metrics.
	Registry *prometheus.Registry
	// Ready reports whether the server can do its work (database reachable).
	Ready func(ctx context.Context) error
	// AllowedOrigins are origins besides the server's own that browsers may call from.
	AllowedOrigins []string
	// TrustedProxies are the addresses whose X-Forwarded-For / X-Forwarded-Proto are believed.
	TrustedProxies []string
	// UI is the built dashboard served at /; nil serves nothing there.
	UI fs.FS
	// SessionTTL is the cookie lifetime to advertise (the service enforces it server side).
	SessionTTL time.Duration
	// RetentionRaw and RetentionRollup are how long raw results and rollups are kept
	// (--retention-raw, --retention-rollup): reports trust raw rows back to RetentionRaw
	// and refuse windows reaching past RetentionRollup. Zero means 168h and 9600h.
	RetentionRaw, RetentionRollup time.Duration
	// Live serves the WebSocket stream at GET /api/v1/ws; nil answers 404 there.
	Live LiveStream
	// Sites enrols agents and lists locations; nil: only the server probes.
	Sites Sites
	// AgentBus is the embedded bus's listen address agents connect to (host:port).
	AgentBus string
	// Locations says where groups can be probed from; nil knows only the server's own
	// prober, named "local".
	Locations Locations
	// TargetMetrics serves GET /metrics/targets; nil answers 404 there.
	TargetMetrics TargetMetrics
	// TargetMetricsPublic serves /metrics/targets without credentials, every exported
	// group included (--metrics-targets-public); otherwise it needs a token or session
	// and shows the groups its user may see.
	TargetMetricsPublic bool
	// Rules stores groups' alert rules and alerts; nil: none.
	Rules RuleStore
	// Thresholds stores the groups' and targets' state thresholds; nil: the built-in
	// ones only (PUT answers 404).
	Thresholds ThresholdStore
	// Silences stores maintenance windows; nil: none (POST answers 404).
	Silences SilenceStore
	// AlertViews reads alerts across groups; nil: none listed.
	AlertViews AlertViews
	// Channels stores notification channels; nil answers 501 under /api/v1/channels.
	Channels ChannelStore
	// Notifier sends channels' test notifications; nil answers 501 to …/test.
	Notifier ChannelTester
	// ChannelResolver checks where channels send; nil is net.DefaultResolver.
	ChannelResolver notify.Resolver
}

// Locations says where groups can be probed from.
type Locations interface {
	Own() string                                 // the server's own prober (--location)
	Known(ctx context.Context) ([]string, error) // Own() and every enrolled agent's location
}

// ownLocationOnly is the Locations of a server without agents: its own prober only.
type ownLocationOnly string

func (o ownLocationOnly) Own() string                             { return string(o) }
func (o ownLocationOnly) Known(context.Context) ([]string, error) { return []string{string(o)}, nil }

// LiveStream takes over an authenticated WebSocket request whose Origin was checked.
// An error is a refusal before the upgrade, for the caller to answer (a user past the
// streams limit: groups.ErrRateLimited). live.Hub implements it.
type LiveStream interface {
	ServeWS(w http.ResponseWriter, r *http.Request, v live.Viewer) error
}
