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
	Report(ctx context.Context, q store.ReportQuery) (*store.Report, error)
	Samples(ctx context.Context, targetID string, from, to time.Time, limit int) ([]store.Sample, error)
	SharingStore
	UserAdminStore
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
	// TargetsChanged, if set, is called after any change to what should be probed
	// (targets added, paused or removed; groups paused, re-timed or deleted). It must not block.
	TargetsChanged func()
	// SessionTTL is the cookie lifetime to advertise (the service enforces it server side).
	SessionTTL time.Duration
	// Events receives changes for the live stream; nil means none.
	Events Events
	// RetentionRaw and RetentionRollup are how long raw results and rollups are kept
	// (--retention-raw, --retention-rollup): reports trust raw rows back to RetentionRaw
	// and refuse windows reaching past RetentionRollup. Zero means 168h and 9600h.
	RetentionRaw, RetentionRollup time.Duration
	// Live serves the WebSocket stream at GET /api/v1/ws; nil answers 404 there.
	Live LiveStream
}

// LiveStream takes over an authenticated WebSocket request whose Origin was checked.
// An error is a refusal before the upgrade, for the caller to answer (a user past the
// streams limit: groups.ErrRateLimited). live.Hub implements it.
type LiveStream interface {
	ServeWS(w http.ResponseWriter, r *http.Request, v live.Viewer) error
}

// Events receives the changes the live stream must push to open dashboards. The HTTP
// layer calls it after a change is stored; implementations must not block. live.Hub
// implements it; NewHandler uses a no-op when Deps.Events is nil.
type Events interface {
	// GroupChanged: a group's settings or targets changed (group_updated, new snapshot).
	GroupChanged(groupID string)
	// GroupDeleted: a group is gone (group_deleted to everyone following it).
	GroupDeleted(groupID string)
	// AccessChanged: who may see a group changed (share removed or role changed,
	// visibility switched); followers who lost access get access_revoked or 4403.
	AccessChanged(groupID string)
	// DashboardChanged: a user's dashboard (own groups or pins) changed; their default
	// subscriptions follow it.
	DashboardChanged(userID string)
	// CredentialRevoked: a session was logged out or an API token deleted; sockets
	// opened with it close with 4401. credentialID is the session or token ID.
	CredentialRevoked(credentialID string)
	// UserDeleted: every socket of that user closes with 4401.
	UserDeleted(userID string)
	// Notify: a notification for n.UserID, pushed to their open sockets.
	Notify(n groups.Notification)
}

// noEvents is the Events of a server without a live stream.
type noEvents struct{}

func (noEvents) GroupChanged(string)        {}
func (noEvents) GroupDeleted(string)        {}
func (noEvents) AccessChanged(string)       {}
func (noEvents) DashboardChanged(string)    {}
func (noEvents) CredentialRevoked(string)   {}
func (noEvents) UserDeleted(string)         {}
func (noEvents) Notify(groups.Notification) {}
