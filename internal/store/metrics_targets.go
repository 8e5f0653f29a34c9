package store

import (
	"context"
	"net/netip"
)

// MetricsTarget is a target of a group that exports per-target metrics, with what
// the metrics label it by.
type MetricsTarget struct {
	ID, GroupID, GroupName string
	Address                string     // as entered: smokeping_prober's host label
	IP                     netip.Addr // zero until a hostname resolves
}

// MetricsTargets lists the targets of every group whose metrics setting is on,
// paused ones included (their counters stay, as a paused prober's would).
func (s *Store) MetricsTargets(ctx context.Context) ([]MetricsTarget, error) {
	var rows []struct {
		ID, GroupID, GroupName, Address string
		IP                              *string
	}
	err := s.db.WithContext(ctx).Table("targets AS t").
		Select("t.id, t.group_id, g.name AS group_name, t.address, t.ip").
		Joins("JOIN groups g ON g.id = t.group_id").
		Where("g.metrics = ?", true).
		Order("g.id, t.id").
		Find(&rows).Error
	if err != nil {
		return nil, translate("list targets exporting metrics", err)
	}
	out := make([]MetricsTarget, len(rows))
	for i, r := range rows {
		out[i] = MetricsTarget{ID: r.ID, GroupID: r.GroupID, GroupName: r.GroupName, Address: r.Address}
		if r.IP != nil {
			out[i].IP, _ = netip.ParseAddr(*r.IP)
		}
	}
	return out, nil
}
