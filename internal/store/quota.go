package store

import (
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"pingdeck/internal/groups"
)

// Quota bounds what one user may own (--max-groups-per-user, --max-targets-per-user);
// a zero field is no limit. Group creation and target insertion check it inside their
// own transaction, after taking the owner's lock, so parallel requests cannot together
// go past it.
type Quota struct {
	MaxGroups  int
	MaxTargets int
}

// lockOwner serialises every quota-checked write of one owner until tx ends. On
// Postgres it locks the owner's users row (NO KEY UPDATE: other such writers wait, while
// inserts that merely refer to the user, like a new session, do not); SQLite's write
// transactions begin IMMEDIATE (see sqliteDSN), so they hold the database's one write
// lock from their first statement and are serial already. A missing owner is not-found.
func (s *Store) lockOwner(tx *gorm.DB, ownerID string) error {
	q := tx.Model(&userRow{}).Where("id = ?", ownerID)
	if s.dialect == Postgres {
		q = q.Clauses(clause.Locking{Strength: "NO KEY UPDATE"})
	}
	var ids []string
	if err := q.Pluck("id", &ids).Error; err != nil {
		return translate("lock the owner", err)
	}
	if len(ids) == 0 {
		return fmt.Errorf("store: lock the owner: %w", groups.NotFound("user"))
	}
	return nil
}

// checkGroupQuota refuses a new group when the owner (locked by lockOwner) already
// owns q.MaxGroups.
func checkGroupQuota(tx *gorm.DB, ownerID string, q Quota) error {
	if q.MaxGroups <= 0 {
		return nil
	}
	var n int64
	if err := tx.Model(&groupRow{}).Where("owner_id = ?", ownerID).Count(&n).Error; err != nil {
		return translate("count the owner's groups", err)
	}
	if n >= int64(q.MaxGroups) {
		return groups.QuotaExceeded(q.MaxGroups,
			"you own %d groups, the most one user may own (--max-groups-per-user=%d); delete one first", n, q.MaxGroups)
	}
	return nil
}

// targetRoom is how many more targets the owner (locked by lockOwner) may have, or -1
// for no limit.
func targetRoom(tx *gorm.DB, ownerID string, q Quota) (int, error) {
	if q.MaxTargets <= 0 {
		return -1, nil
	}
	var n int64
	err := tx.Model(&targetRow{}).Joins("JOIN groups g ON g.id = targets.group_id").
		Where("g.owner_id = ?", ownerID).Count(&n).Error
	if err != nil {
		return 0, translate("count the owner's targets", err)
	}
	return max(0, q.MaxTargets-int(n)), nil
}
