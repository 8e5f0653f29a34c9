package store

import (
	"context"
	"net/netip"
	"time"

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

// ActiveTargets lists the targets the probe engine should be probing: not paused, in
// groups that are not paused.
func (s *Store) ActiveTargets(ctx context.Context) ([]ping.Desired, error) {
	var rows []activeRow
	err := s.db.WithContext(ctx).Table("targets AS t").
		Select("t.id, t.group_id, t.address, t.ip, g.interval_ms, g.timeout_ms, g.packet_size").
		Joins("JOIN groups g ON g.id = t.group_id").
		Where("t.paused = ? AND g.paused = ?", false, false).
		Find(&rows).Error
	if err != nil {
		return nil, translate("list active targets", err)
	}
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
	return out, nil
}

// SetTargetIP records the address a hostname target currently resolves to.
func (s *Store) SetTargetIP(ctx context.Context, targetID string, ip netip.Addr) error {
	err := s.db.WithContext(ctx).Model(&targetRow{}).Where("id = ?", targetID).Update("ip", ip.String()).Error
	return translate("set target ip", err)
}
