package store

import (
	"context"

	"pingdeck/internal/groups"
)

// dashboardCondition is what puts a group on a user's dashboard, over groups g with the
// user's pin p and share sh joined; its arguments are the user's ID, whether they are an
// admin, and groups.Public.
const dashboardCondition = "g.owner_id = ? OR (p.user_id IS NOT NULL AND (? OR sh.user_id IS NOT NULL OR g.visibility = ?))"

// DashboardGroupIDs lists the groups on a user's dashboard: those they own, and those
// they pinned that they may still see (public, shared with them, or any group for an
// admin), oldest first. The live stream follows exactly these by default.
func (s *Store) DashboardGroupIDs(ctx context.Context, userID string, isAdmin bool) ([]string, error) {
	var ids []string
	err := s.db.WithContext(ctx).Table("groups AS g").
		Select("g.id").
		Joins("LEFT JOIN pins p ON p.group_id = g.id AND p.user_id = ?", userID).
		Joins("LEFT JOIN shares sh ON sh.group_id = g.id AND sh.user_id = ?", userID).
		Where(dashboardCondition, userID, isAdmin, groups.Public).
		Order("g.created_at, g.id").
		Pluck("g.id", &ids).Error
	if err != nil {
		return nil, translate("list dashboard groups", err)
	}
	return ids, nil
}
