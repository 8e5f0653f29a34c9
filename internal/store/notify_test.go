package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/groups"
	"pingdeck/internal/notify"
)

func newNotifyChannel(t *testing.T, s *Store, userID, groupID string) *notify.Channel {
	t.Helper()
	now := µs(time.Now())
	c := &notify.Channel{ID: uuid.NewString(), OwnerUserID: userID, OwnerGroupID: groupID, Kind: notify.KindWebhook,
		Name: "hook", Config: []byte(`{"url":"https://example.com/hook"}`), Secret: "0123456789abcdef",
		CreatedAt: now, UpdatedAt: now}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateNotifyChannel(context.Background(), c); err != nil {
		t.Fatalf("create channel: %v", err)
	}
	return c
}

func TestNotifyChannels(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
		g := newGroup(t, s, alice.ID, "core", groups.Private)
		mine := newNotifyChannel(t, s, alice.ID, "")
		ofGroup := newNotifyChannel(t, s, "", g.ID)
		newNotifyChannel(t, s, bob.ID, "")

		got, err := s.NotifyChannel(ctx, mine.ID)
		if err != nil || got.Secret != mine.Secret || got.OwnerUserID != alice.ID || string(got.Config) != string(mine.Config) {
			t.Fatalf("NotifyChannel = %+v, %v; want the stored channel with its secret", got, err)
		}
		list, err := s.NotifyChannelsFor(ctx, alice.ID, []string{g.ID})
		if err != nil || len(list) != 2 {
			t.Fatalf("alice's channels = %d, %v; want her own and her group's (2)", len(list), err)
		}

		upd := *mine
		upd.Name, upd.Secret = "renamed", "fedcba9876543210"
		if err := s.UpdateNotifyChannel(ctx, &upd); err != nil {
			t.Fatal(err)
		}
		stolen := upd
		stolen.OwnerUserID = bob.ID
		if err := s.UpdateNotifyChannel(ctx, &stolen); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("update with another owner: err = %v, want not found", err)
		}
		if got, _ := s.NotifyChannel(ctx, mine.ID); got.Name != "renamed" || got.Secret != "fedcba9876543210" {
			t.Fatalf("after update: %+v", got)
		}

		if err := s.DeleteGroup(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.NotifyChannel(ctx, ofGroup.ID); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("group's channel after the group's deletion: err = %v, want not found", err)
		}
		if err := s.DeleteNotifyChannel(ctx, mine.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteNotifyChannel(ctx, mine.ID); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("second delete: err = %v, want not found", err)
		}
	})
}

func TestNotifyDeliveries(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := newUser(t, s, "alice")
		c := newNotifyChannel(t, s, alice.ID, "")
		now := µs(time.Now())
		n := notify.Notification{ID: "alert-1:firing", AlertID: "alert-1", State: notify.Firing, Rule: "down", Group: "core", Since: now}
		d := notify.Delivery{ID: uuid.NewString(), ChannelID: c.ID, Notification: n, NextAt: now, CreatedAt: now}

		added, err := s.EnqueueDeliveries(ctx, []notify.Delivery{d})
		if err != nil || len(added) != 1 {
			t.Fatalf("enqueue: added %d, %v", len(added), err)
		}
		again := d
		again.ID = uuid.NewString()
		if added, err := s.EnqueueDeliveries(ctx, []notify.Delivery{again}); err != nil || len(added) != 0 {
			t.Fatalf("enqueue of the same transition again: added %d, %v; want 0 (deduplicated)", len(added), err)
		}

		claimed, err := s.ClaimDueDeliveries(ctx, now, now.Add(time.Minute), 10)
		if err != nil || len(claimed) != 1 || claimed[0].Notification.ID != n.ID || claimed[0].Notification.Rule != "down" {
			t.Fatalf("claim: %+v, %v; want the one delivery with its payload", claimed, err)
		}
		if again, err := s.ClaimDueDeliveries(ctx, now, now.Add(time.Minute), 10); err != nil || len(again) != 0 {
			t.Fatalf("second claim within the lease: %d, %v; want nothing", len(again), err)
		}
		if at, ok, err := s.NextDeliveryAt(ctx); err != nil || !ok || !at.Equal(now.Add(time.Minute)) {
			t.Fatalf("NextDeliveryAt = %v %v %v; want the lease's end", at, ok, err)
		}

		retryAt := now.Add(2 * time.Second)
		if err := s.RecordDeliveryAttempt(ctx, notify.Attempt{DeliveryID: d.ID, At: now, Status: notify.StatusPending, NextAt: retryAt, Error: "HTTP 500"}); err != nil {
			t.Fatal(err)
		}
		if early, _ := s.ClaimDueDeliveries(ctx, now.Add(time.Second), now.Add(time.Minute), 10); len(early) != 0 {
			t.Fatalf("claimed before its retry time")
		}
		claimed, err = s.ClaimDueDeliveries(ctx, retryAt, retryAt.Add(time.Minute), 10)
		if err != nil || len(claimed) != 1 || claimed[0].Attempts != 1 || claimed[0].LastError != "HTTP 500" {
			t.Fatalf("claim at retry time: %+v, %v", claimed, err)
		}
		if err := s.RecordDeliveryAttempt(ctx, notify.Attempt{DeliveryID: d.ID, At: retryAt, Status: notify.StatusSent}); err != nil {
			t.Fatal(err)
		}
		// A late duplicate record (e.g. a dispatcher whose lease ran out) changes nothing.
		if err := s.RecordDeliveryAttempt(ctx, notify.Attempt{DeliveryID: d.ID, At: retryAt, Status: notify.StatusFailed, Error: "late"}); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.NextDeliveryAt(ctx); ok {
			t.Fatalf("a pending delivery remains after it was sent")
		}

		pending := notify.Delivery{ID: uuid.NewString(), ChannelID: c.ID, NextAt: now, CreatedAt: now,
			Notification: notify.Notification{ID: "alert-2:firing", State: notify.Firing, Rule: "down", Since: now}}
		if _, err := s.EnqueueDeliveries(ctx, []notify.Delivery{pending}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			n, err := s.DeleteFinishedDeliveries(ctx, now.Add(time.Hour))
			if err != nil || n != 1 {
				t.Fatalf("DeleteFinishedDeliveries = %d, %v; want the sent one deleted", n, err)
			}
			if logs, _ := s.NotifyDeliveries(ctx, c.ID, 10); len(logs) != 1 || logs[0].ID != pending.ID {
				t.Fatalf("after cleanup: %+v; want only the pending delivery", logs)
			}
		}()

		logs, err := s.NotifyDeliveries(ctx, c.ID, 10)
		if err != nil || len(logs) != 2 {
			t.Fatalf("deliveries: %d, %v", len(logs), err)
		}
		l := logs[0]
		if l.ID != d.ID {
			l = logs[1]
		}
		if l.Status != notify.StatusSent || l.Attempts != 2 || l.DeliveredAt == nil || len(l.Log) != 2 ||
			l.Log[0].Error != "HTTP 500" || l.Log[1].Status != notify.StatusSent {
			t.Fatalf("delivery log = %+v; want sent after 2 attempts (HTTP 500, then sent)", l)
		}
	})
}
