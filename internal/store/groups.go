package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"pingdeck/internal/groups"
)

type groupRow struct {
	ID         string
	OwnerID    string
	Name       string
	Visibility string
	IntervalMs int64
	TimeoutMs  int64
	PacketSize int
	Paused     bool
	Metrics    bool   // exported at /metrics/targets
	Locations  string // comma-separated; empty: the server's own prober only
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (groupRow) TableName() string { return "groups" }

// Where a group is probed from is stored as location names, comma-separated (names
// are [a-z0-9-]), with one exception: the server's own location alone is stored
// empty, so such groups follow the server's prober if --location is renamed. Groups
// read back always list their locations (groups.Group.Locations is never empty).

// joinLocations is names as stored.
func joinLocations(names []string, own string) string {
	if len(names) == 1 && names[0] == own {
		return ""
	}
	return strings.Join(names, ",")
}

// splitLocations is the stored locations as a group lists them.
func splitLocations(stored, own string) []string {
	if stored == "" {
		return []string{own}
	}
	return strings.Split(stored, ",")
}

func groupRowOf(g *groups.Group, own string) groupRow {
	return groupRow{
		ID: g.ID, OwnerID: g.OwnerID, Name: g.Name, Visibility: string(g.Visibility),
		IntervalMs: g.Interval.Milliseconds(), TimeoutMs: g.Timeout.Milliseconds(),
		PacketSize: g.PacketSize, Paused: g.Paused, Metrics: g.Metrics, Locations: joinLocations(g.Locations, own),
		CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt,
	}
}

// groupView is a group row with what the listing query joins in.
type groupView struct {
	Row         groupRow `gorm:"embedded"`
	OwnerName   string
	ShareRole   *string
	Pinned      bool
	TargetCount int
}

func (v *groupView) toDomain(own string) (*groups.Group, groups.Role) {
	r := &v.Row
	g := &groups.Group{
		ID: r.ID, OwnerID: r.OwnerID, OwnerName: v.OwnerName, Name: r.Name,
		Visibility: groups.Visibility(r.Visibility),
		Interval:   time.Duration(r.IntervalMs) * time.Millisecond,
		Timeout:    time.Duration(r.TimeoutMs) * time.Millisecond,
		PacketSize: r.PacketSize, Paused: r.Paused, Metrics: r.Metrics, Locations: splitLocations(r.Locations, own),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	var role groups.Role
	if v.ShareRole != nil {
		role = groups.Role(*v.ShareRole)
	}
	return g, role
}

// GroupWithRole is a group as one user sees it: the role a share grants them (if any),
// whether they pinned it to their dashboard, and how many targets it has.
type GroupWithRole struct {
	Group       *groups.Group
	ShareRole   groups.Role
	Pinned      bool
	TargetCount int
}

func (v *groupView) withRole(own string) GroupWithRole {
	g, role := v.toDomain(own)
	return GroupWithRole{Group: g, ShareRole: role, Pinned: v.Pinned, TargetCount: v.TargetCount}
}

// viewQuery selects groups with owner name, the viewer's share role, pin and target count.
// The share and pin joins are aliased sh and p, which the listing conditions refer to.
func (s *Store) viewQuery(ctx context.Context, viewerID string) *gorm.DB {
	if viewerID == "" {
		// Nobody (the live hub reading a group for all its followers): Postgres refuses
		// '' where a uuid goes, so ask for the nil UUID, which no user has.
		viewerID = uuid.Nil.String()
	}
	return s.db.WithContext(ctx).Table("groups AS g").
		Select(`g.*, u.username AS owner_name, sh.role AS share_role, p.user_id IS NOT NULL AS pinned,
			(SELECT count(*) FROM targets t WHERE t.group_id = g.id) AS target_count`).
		Joins("JOIN users u ON u.id = g.owner_id").
		Joins("LEFT JOIN shares sh ON sh.group_id = g.id AND sh.user_id = ?", viewerID).
		Joins("LEFT JOIN pins p ON p.group_id = g.id AND p.user_id = ?", viewerID)
}

// CreateGroup stores a new group and as many of its targets as the owner's quota has
// room for, in one transaction that holds the owner's lock (lockOwner), so parallel
// creations never take the owner past q. The group itself past q.MaxGroups is refused
// (groups.ErrQuotaExceeded). g.Targets is cut to the targets stored; those left out
// for the target quota are returned, in input order. An existing ID is a conflict.
func (s *Store) CreateGroup(ctx context.Context, g *groups.Group, q Quota) (overQuota []groups.Target, err error) {
	row := groupRowOf(g, s.ownLocation)
	var added []groups.Target
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockOwner(tx, g.OwnerID); err != nil {
			return err
		}
		if err := checkGroupQuota(tx, g.OwnerID, q); err != nil {
			return err
		}
		room, err := targetRoom(tx, g.OwnerID, q)
		if err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return translate("create group", err)
		}
		added, overQuota, err = insertTargets(tx, g.ID, g.Targets, room)
		return err
	})
	if err != nil {
		return nil, err
	}
	g.Targets = added
	s.publish(groups.Change{Kind: groups.ChangeGroupCreated, GroupID: g.ID, UserID: g.OwnerID, TargetIDs: groups.TargetIDs(added)})
	return overQuota, nil
}

// GroupFor returns a group as viewerID sees it, or not-found. Access decisions are the
// caller's (groups.RoleFor), made on what this returns.
func (s *Store) GroupFor(ctx context.Context, id, viewerID string) (*GroupWithRole, error) {
	var v groupView
	err := s.viewQuery(ctx, viewerID).Where("g.id = ?", id).Take(&v).Error
	if err != nil {
		return nil, translate("find group", err)
	}
	out := v.withRole(s.ownLocation)
	return &out, nil
}

// GroupsByID returns, in one query, the groups among ids that exist, each as viewerID
// sees it, by ID; IDs that are not UUIDs or name no group are absent. Access decisions
// are the caller's, as with GroupFor.
func (s *Store) GroupsByID(ctx context.Context, ids []string, viewerID string) (map[string]GroupWithRole, error) {
	valid := validIDs(ids)
	out := make(map[string]GroupWithRole, len(valid))
	if len(valid) == 0 {
		return out, nil
	}
	var views []groupView
	if err := s.viewQuery(ctx, viewerID).Where("g.id IN ?", valid).Find(&views).Error; err != nil {
		return nil, translate("find groups", err)
	}
	for i := range views {
		out[views[i].Row.ID] = views[i].withRole(s.ownLocation)
	}
	return out, nil
}

// validIDs is ids without repeats and without what is not a UUID (which no row has,
// and which Postgres would refuse to compare with a uuid column).
func validIDs(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] && len(id) == 36 && uuid.Validate(id) == nil {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// GroupScope selects which groups a listing returns.
type GroupScope string

// Scopes of GroupsFor.
const (
	// ScopeVisible: the groups the viewer owns, has been shared, or that are public.
	ScopeVisible GroupScope = ""
	// ScopeDashboard: the viewer's dashboard, exactly DashboardGroupIDs' set.
	ScopeDashboard GroupScope = "dashboard"
	// ScopeAll: every group for an administrator; ScopeVisible for anyone else.
	ScopeAll GroupScope = "all"
	// ScopePublic: every public group, the viewer's own included.
	ScopePublic GroupScope = "public"
)

// GroupsFor lists the groups in scope for viewer, oldest first. Visibility is decided in
// the query, so a group the viewer may not see is never read.
func (s *Store) GroupsFor(ctx context.Context, viewer groups.Actor, scope GroupScope) ([]GroupWithRole, error) {
	q := s.viewQuery(ctx, viewer.UserID)
	switch {
	case scope == ScopeAll && viewer.IsAdmin:
	case scope == ScopeDashboard:
		q = q.Where(dashboardCondition, viewer.UserID, viewer.IsAdmin, groups.Public)
	case scope == ScopePublic:
		q = q.Where("g.visibility = ?", groups.Public)
	case scope == ScopeVisible, scope == ScopeAll:
		q = q.Where("g.owner_id = ? OR sh.user_id IS NOT NULL OR g.visibility = ?", viewer.UserID, groups.Public)
	default:
		return nil, groups.Invalid("scope", "must be dashboard, all or public")
	}
	var views []groupView
	if err := q.Order("g.created_at, g.id").Find(&views).Error; err != nil {
		return nil, translate("list groups", err)
	}
	out := make([]GroupWithRole, len(views))
	for i := range views {
		out[i] = views[i].withRole(s.ownLocation)
	}
	return out, nil
}

// UpdateGroup writes a group's settings (not its owner, ID or targets), where it is
// probed from included. The change it announces says whether the visibility changed
// (who may see the group).
func (s *Store) UpdateGroup(ctx context.Context, g *groups.Group) error {
	row := groupRowOf(g, s.ownLocation)
	var accessChanged bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		old := tx.Model(&groupRow{}).Where("id = ?", g.ID)
		if s.dialect == Postgres { // SQLite's write transactions are exclusive already
			old = old.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var visibility []string
		if err := old.Pluck("visibility", &visibility).Error; err != nil {
			return translate("read group", err)
		}
		if len(visibility) == 0 {
			return fmt.Errorf("store: update group: %w", groups.ErrNotFound)
		}
		accessChanged = visibility[0] != row.Visibility
		res := tx.Model(&groupRow{}).Where("id = ?", g.ID).Updates(map[string]any{
			"name": row.Name, "visibility": row.Visibility, "interval_ms": row.IntervalMs,
			"timeout_ms": row.TimeoutMs, "packet_size": row.PacketSize, "paused": row.Paused,
			"metrics": row.Metrics, "locations": row.Locations, "updated_at": row.UpdatedAt,
		})
		return affectedOne("update group", res)
	})
	if err != nil {
		return err
	}
	s.publish(groups.Change{Kind: groups.ChangeGroupUpdated, GroupID: g.ID, AccessChanged: accessChanged})
	return nil
}

// DeleteGroup removes a group with its targets, shares and pins.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	if err := affectedOne("delete group", s.db.WithContext(ctx).Where("id = ?", id).Delete(&groupRow{})); err != nil {
		return err
	}
	s.publish(groups.Change{Kind: groups.ChangeGroupDeleted, GroupID: id})
	return nil
}

// affectedOne turns "no row matched" into not-found.
func affectedOne(op string, res *gorm.DB) error {
	if res.Error != nil {
		return translate(op, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: %s: %w", op, groups.ErrNotFound)
	}
	return nil
}

// ViewerState is how one user relates to a group besides ownership: their share role
// (empty without a share) and whether they pinned it.
type ViewerState struct {
	ShareRole groups.Role
	Pinned    bool
}

// ViewersOf returns the share role and pin of each of userIDs on group id, in two
// queries whatever the number of users (the live hub re-checks every follower of a
// group whose access changed). Users with neither are absent from the map.
func (s *Store) ViewersOf(ctx context.Context, id string, userIDs []string) (map[string]ViewerState, error) {
	users := validIDs(userIDs)
	out := make(map[string]ViewerState, len(users))
	if len(users) == 0 || len(validIDs([]string{id})) == 0 {
		return out, nil
	}
	var shares []shareRow
	if err := s.db.WithContext(ctx).Where("group_id = ? AND user_id IN ?", id, users).Find(&shares).Error; err != nil {
		return nil, translate("find shares", err)
	}
	for _, sh := range shares {
		out[sh.UserID] = ViewerState{ShareRole: groups.Role(sh.Role)}
	}
	var pins []pinRow
	if err := s.db.WithContext(ctx).Where("group_id = ? AND user_id IN ?", id, users).Find(&pins).Error; err != nil {
		return nil, translate("find pins", err)
	}
	for _, p := range pins {
		v := out[p.UserID]
		v.Pinned = true
		out[p.UserID] = v
	}
	return out, nil
}

// Assignment is what a group lets a location's prober report: whether the group is
// probed from there, and its targets (paused or not).
type Assignment struct {
	Locations []string
	Targets   map[string]bool
}

// GroupAssignment reads a group's locations and target IDs; a group that is gone has
// none.
func (s *Store) GroupAssignment(ctx context.Context, groupID string) (Assignment, error) {
	var rows []groupRow
	if err := s.db.WithContext(ctx).Select("id, locations").Where("id = ?", groupID).Limit(1).Find(&rows).Error; err != nil {
		return Assignment{}, translate("read a group's locations", err)
	}
	out := Assignment{Targets: map[string]bool{}}
	if len(rows) == 0 {
		return out, nil
	}
	out.Locations = splitLocations(rows[0].Locations, s.ownLocation)
	var ids []string
	if err := s.db.WithContext(ctx).Table("targets").Where("group_id = ?", groupID).Pluck("id", &ids).Error; err != nil {
		return Assignment{}, translate("read a group's targets", err)
	}
	for _, id := range ids {
		out.Targets[id] = true
	}
	return out, nil
}
