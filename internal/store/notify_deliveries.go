package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"pingdeck/internal/notify"
)

type notifyDeliveryRow struct {
	ID             string
	ChannelID      string
	NotificationID string
	Payload        string
	Attempts       int
	NextAt         time.Time
	Status         string
	LastError      string
	Claim          int
	CreatedAt      time.Time
	DeliveredAt    *time.Time
}

func (notifyDeliveryRow) TableName() string { return "notify_deliveries" }

func (r *notifyDeliveryRow) toDomain() (notify.Delivery, error) {
	d := notify.Delivery{ID: r.ID, ChannelID: r.ChannelID, Attempts: r.Attempts, NextAt: r.NextAt.UTC(),
		Status: notify.DeliveryStatus(r.Status), LastError: r.LastError, CreatedAt: r.CreatedAt.UTC(),
		DeliveredAt: utcPtr(r.DeliveredAt), Claim: r.Claim}
	if err := json.Unmarshal([]byte(r.Payload), &d.Notification); err != nil {
		return d, fmt.Errorf("store: delivery %s: decode payload: %w", r.ID, err)
	}
	return d, nil
}

type notifyAttemptRow struct {
	DeliveryID string
	N          int
	At         time.Time
	Status     string
	Error      string
}

func (notifyAttemptRow) TableName() string { return "notify_attempts" }

var _ notify.Store = (*Store)(nil)

// EnqueueDeliveries stores pending deliveries; one whose (channel, notification id) is
// stored already is skipped (the unique key decides, so concurrent enqueues agree).
// It returns the ones added.
func (s *Store) EnqueueDeliveries(ctx context.Context, ds []notify.Delivery) ([]notify.Delivery, error) {
	var added []notify.Delivery
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, d := range ds {
			payload, err := json.Marshal(d.Notification)
			if err != nil {
				return fmt.Errorf("encode payload: %w", err)
			}
			r := notifyDeliveryRow{ID: d.ID, ChannelID: d.ChannelID, NotificationID: d.Notification.ID,
				Payload: string(payload), NextAt: d.NextAt.UTC(), Status: string(notify.StatusPending),
				CreatedAt: d.CreatedAt.UTC()}
			res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "channel_id"}, {Name: "notification_id"}}, DoNothing: true}).Create(&r)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				added = append(added, d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, translate("enqueue deliveries", err)
	}
	return added, nil
}

// ClaimDueDeliveries claims up to limit pending deliveries due at now: each claim moves
// next_at to leaseUntil and succeeds only if nobody claimed the row since it was read.
func (s *Store) ClaimDueDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]notify.Delivery, error) {
	var rows []notifyDeliveryRow
	err := s.db.WithContext(ctx).Where("status = ? AND next_at <= ?", notify.StatusPending, now.UTC()).
		Order("next_at, id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, translate("find due deliveries", err)
	}
	var out []notify.Delivery
	for i := range rows {
		r := &rows[i]
		res := s.db.WithContext(ctx).Model(&notifyDeliveryRow{}).
			Where("id = ? AND claim = ? AND status = ?", r.ID, r.Claim, notify.StatusPending).
			Updates(map[string]any{"next_at": leaseUntil.UTC(), "claim": r.Claim + 1})
		if res.Error != nil {
			return out, translate("claim delivery", res.Error)
		}
		if res.RowsAffected == 0 {
			continue
		}
		d, err := r.toDomain()
		if err != nil {
			return out, err
		}
		d.Claim++
		out = append(out, d)
	}
	return out, nil
}

// RecordDeliveryAttempt logs one try and sets the delivery's state in one transaction,
// so a delivery is marked sent in the same step its confirmation is recorded. An
// attempt on a delivery that is no longer pending changes nothing.
func (s *Store) RecordDeliveryAttempt(ctx context.Context, a notify.Attempt) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var r notifyDeliveryRow
		if err := tx.Where("id = ? AND status = ?", a.DeliveryID, notify.StatusPending).Take(&r).Error; err != nil {
			if err == gorm.ErrRecordNotFound {
				return nil
			}
			return err
		}
		n := r.Attempts + 1
		at := a.At.UTC()
		if err := tx.Create(&notifyAttemptRow{DeliveryID: r.ID, N: n, At: at, Status: string(a.Status), Error: a.Error}).Error; err != nil {
			return err
		}
		set := map[string]any{"attempts": n, "status": string(a.Status), "last_error": a.Error}
		switch a.Status {
		case notify.StatusSent:
			set["delivered_at"] = at
		case notify.StatusPending:
			set["next_at"] = a.NextAt.UTC()
		}
		return tx.Model(&notifyDeliveryRow{}).Where("id = ? AND attempts = ?", r.ID, r.Attempts).Updates(set).Error
	})
	return translate("record delivery attempt", err)
}

// NextDeliveryAt is when the earliest pending delivery is due.
func (s *Store) NextDeliveryAt(ctx context.Context) (time.Time, bool, error) {
	var rows []notifyDeliveryRow
	err := s.db.WithContext(ctx).Select("next_at").Where("status = ?", notify.StatusPending).
		Order("next_at").Limit(1).Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return time.Time{}, false, translate("next delivery", err)
	}
	return rows[0].NextAt.UTC(), true, nil
}

// DeliveryLog is a delivery with its attempts, oldest first.
type DeliveryLog struct {
	notify.Delivery
	Log []DeliveryAttempt
}

// DeliveryAttempt is one row of a delivery's log.
type DeliveryAttempt struct {
	N      int
	At     time.Time
	Status notify.DeliveryStatus
	Error  string
}

// NotifyDeliveries returns a channel's newest deliveries (at most limit) with their logs.
func (s *Store) NotifyDeliveries(ctx context.Context, channelID string, limit int) ([]DeliveryLog, error) {
	var rows []notifyDeliveryRow
	err := s.db.WithContext(ctx).Where("channel_id = ?", channelID).Order("created_at DESC, id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, translate("list deliveries", err)
	}
	out := make([]DeliveryLog, len(rows))
	index := make(map[string]int, len(rows))
	ids := make([]string, len(rows))
	for i := range rows {
		d, err := rows[i].toDomain()
		if err != nil {
			return nil, err
		}
		out[i].Delivery, index[d.ID], ids[i] = d, i, d.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	var attempts []notifyAttemptRow
	if err := s.db.WithContext(ctx).Where("delivery_id IN ?", ids).Order("delivery_id, n").Find(&attempts).Error; err != nil {
		return nil, translate("list delivery attempts", err)
	}
	for _, a := range attempts {
		i := index[a.DeliveryID]
		out[i].Log = append(out[i].Log, DeliveryAttempt{N: a.N, At: a.At.UTC(), Status: notify.DeliveryStatus(a.Status), Error: a.Error})
	}
	return out, nil
}

// DeleteFinishedDeliveries deletes sent and failed deliveries created before before
// (their attempts go with them) and returns how many; pending ones are kept.
func (s *Store) DeleteFinishedDeliveries(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("status <> ? AND created_at < ?", notify.StatusPending, before.UTC()).
		Delete(&notifyDeliveryRow{})
	if res.Error != nil {
		return 0, translate("delete finished deliveries", res.Error)
	}
	return res.RowsAffected, nil
}
