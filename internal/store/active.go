package store

import (
	"context"
	"net/netip"
	"time"

	"gorm.io/gorm"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
)

var (
	_ ping.Source = (*Store)(nil)
	_ ping.Source = (*LocationSource)(nil)
)

type activeRow struct {
	ID         string
	GroupID    string
	Address    string
	IP         *string
	IntervalMs int64
	TimeoutMs  int64
	PacketSize int
}

// activeQuery selects the targets that should be probed: not paused, in groups that
// are not paused.
func (s *Store) activeQuery(ctx context.Context) *gorm.DB {
	return s.db.WithContext(ctx).Table("targets AS t").
		Select("t.id, t.group_id, t.address, t.ip, g.interval_ms, g.timeout_ms, g.packet_size").
		Joins("JOIN groups g ON g.id = t.group_id").
		Where("t.paused = ? AND g.paused = ?", false, false)
}

// ActiveTargets lists the targets that should be probed, from whichever location: not
// paused, in groups that are not paused. A prober lists its own with ProbedFrom.
func (s *Store) ActiveTargets(ctx context.Context) ([]ping.Desired, error) {
	return activeTargets(s.activeQuery(ctx))
}

// ActiveTargetsOfGroup lists the group's targets ActiveTargets lists: none when the
// group is paused or gone.
func (s *Store) ActiveTargetsOfGroup(ctx context.Context, groupID string) ([]ping.Desired, error) {
	return activeTargets(s.activeQuery(ctx).Where("t.group_id = ?", groupID))
}

func activeTargets(q *gorm.DB) ([]ping.Desired, error) {
	var rows []activeRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, translate("list active targets", err)
	}
	return desiredOf(rows), nil
}

// LocationSource is the store as the prober at one location sees it (a ping.Source):
// only the targets of the groups probed from there.
type LocationSource struct {
	store    *Store
	location string
	own      bool
}

// ProbedFrom returns the ping.Source of the prober at location, which lists the active
// targets of the groups probed from there. own says whether location is the server's
// own prober (--location): it also probes the groups that name no location.
func (s *Store) ProbedFrom(location string, own bool) *LocationSource {
	return &LocationSource{store: s, location: location, own: own}
}

// probedHere narrows an activeQuery to the groups probed from l's location. Names are
// [a-z0-9-], so ",name," is found in ",a,b," exactly when name is one of a, b.
func (l *LocationSource) probedHere(q *gorm.DB) *gorm.DB {
	find := "instr(',' || g.locations || ',', ?) > 0"
	if l.store.dialect == Postgres {
		find = "strpos(',' || g.locations || ',', ?) > 0"
	}
	needle := "," + l.location + ","
	if l.own {
		return q.Where("(g.locations = '' OR "+find+")", needle)
	}
	return q.Where(find, needle)
}

// ActiveTargets lists the active targets of the groups probed from l's location.
func (l *LocationSource) ActiveTargets(ctx context.Context) ([]ping.Desired, error) {
	return activeTargets(l.probedHere(l.store.activeQuery(ctx)))
}

// ActiveTargetsOfGroup lists the group's active targets when it is probed from l's
// location; none when it is not, is paused, or is gone.
func (l *LocationSource) ActiveTargetsOfGroup(ctx context.Context, groupID string) ([]ping.Desired, error) {
	return activeTargets(l.probedHere(l.store.activeQuery(ctx)).Where("t.group_id = ?", groupID))
}

// SetTargetIP records the address a hostname target resolved to (Store.SetTargetIP).
func (l *LocationSource) SetTargetIP(ctx context.Context, targetID string, ip netip.Addr) error {
	return l.store.SetTargetIP(ctx, targetID, ip)
}

func desiredOf(rows []activeRow) []ping.Desired {
	out := make([]ping.Desired, len(rows))
	for i, r := range rows {
		out[i] = ping.Desired{Address: r.Address, Target: ping.Target{
			ID: r.ID, GroupID: r.GroupID, Size: r.PacketSize,
			Interval: time.Duration(r.IntervalMs) * time.Millisecond,
			Timeout:  time.Duration(r.TimeoutMs) * time.Millisecond,
		}}
		if r.IP != nil {
			out[i].Addr, _ = netip.ParseAddr(*r.IP)
		}
	}
	return out
}

// SetTargetIP records the address a hostname target currently resolves to. A new
// address is announced as a change to the target's group (the cards show it); the
// same address again changes nothing and announces nothing.
func (s *Store) SetTargetIP(ctx context.Context, targetID string, ip netip.Addr) error {
	addr := ip.String()
	var groupID []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&targetRow{}).Where("id = ? AND (ip IS NULL OR ip <> ?)", targetID, addr).Update("ip", addr)
		if res.Error != nil || res.RowsAffected == 0 {
			return translate("set target ip", res.Error)
		}
		return translate("find the target's group", tx.Model(&targetRow{}).Where("id = ?", targetID).Pluck("group_id", &groupID).Error)
	})
	if err != nil {
		return err
	}
	if len(groupID) > 0 {
		s.publish(groups.Change{Kind: groups.ChangeTargets, GroupID: groupID[0], TargetIDs: []string{targetID}})
	}
	return nil
}
