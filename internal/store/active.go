package store

import (
	"context"
	"net/netip"
	"time"

	"gorm.io/gorm"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
)

var _ ping.Source = (*Store)(nil)

type activeRow struct {
	ID         string
	GroupID    string
	Address    string
	IP         *string
	IntervalMs int64
	TimeoutMs  int64
	PacketSize int
}

// activeQuery selects the targets the probe engine should be probing: not paused, in
// groups that are not paused.
func (s *Store) activeQuery(ctx context.Context) *gorm.DB {
	return s.db.WithContext(ctx).Table("targets AS t").
		Select("t.id, t.group_id, t.address, t.ip, g.interval_ms, g.timeout_ms, g.packet_size").
		Joins("JOIN groups g ON g.id = t.group_id").
		Where("t.paused = ? AND g.paused = ?", false, false)
}

// ActiveTargets lists the targets the probe engine should be probing: not paused, in
// groups that are not paused.
func (s *Store) ActiveTargets(ctx context.Context) ([]ping.Desired, error) {
	var rows []activeRow
	if err := s.activeQuery(ctx).Find(&rows).Error; err != nil {
		return nil, translate("list active targets", err)
	}
	return desiredOf(rows), nil
}

// ActiveTargetsOfGroup lists the group's targets the probe engine should be probing:
// none when the group is paused or gone.
func (s *Store) ActiveTargetsOfGroup(ctx context.Context, groupID string) ([]ping.Desired, error) {
	var rows []activeRow
	if err := s.activeQuery(ctx).Where("t.group_id = ?", groupID).Find(&rows).Error; err != nil {
		return nil, translate("list the group's active targets", err)
	}
	return desiredOf(rows), nil
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
