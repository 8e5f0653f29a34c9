package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/groups"
)

func TestSharesPutListDelete(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice, bob, carol := newUser(t, s, "alice"), newUser(t, s, "bob"), newUser(t, s, "carol")
		g := newGroup(t, s, alice.ID, "core", groups.Private)
		now := µs(time.Now())
		note := func() *groups.Notification {
			return &groups.Notification{ID: uuid.NewString(), UserID: bob.ID, FromUserID: alice.ID,
				Kind: groups.NotifyShared, GroupID: g.ID, CreatedAt: now}
		}

		sh, changed, err := s.PutShare(ctx, groups.Share{GroupID: g.ID, UserID: bob.ID, Role: groups.RoleViewer, CreatedAt: now}, note())
		if err != nil || !changed || sh.Username != "bob" || sh.Role != groups.RoleViewer || !sh.CreatedAt.Equal(now) {
			t.Fatalf("first PutShare = %+v, %v, %v", sh, changed, err)
		}
		// The same grant again changes nothing and notifies nobody.
		if _, changed, err := s.PutShare(ctx, groups.Share{GroupID: g.ID, UserID: bob.ID, Role: groups.RoleViewer, CreatedAt: now.Add(time.Hour)}, note()); err != nil || changed {
			t.Fatalf("repeated PutShare: changed %v, %v", changed, err)
		}
		later := now.Add(time.Minute)
		sh, changed, err = s.PutShare(ctx, groups.Share{GroupID: g.ID, UserID: bob.ID, Role: groups.RoleEditor, CreatedAt: later}, note())
		if err != nil || !changed || sh.Role != groups.RoleEditor || !sh.CreatedAt.Equal(now) {
			t.Fatalf("role change = %+v, %v, %v (created_at must stay the first grant's)", sh, changed, err)
		}
		if _, _, err := s.PutShare(ctx, groups.Share{GroupID: g.ID, UserID: carol.ID, Role: groups.RoleViewer, CreatedAt: later}, nil); err != nil {
			t.Fatal(err)
		}
		list, err := s.Shares(ctx, g.ID)
		if err != nil || len(list) != 2 || list[0].Username != "bob" || list[1].Username != "carol" {
			t.Fatalf("Shares = %+v, %v", list, err)
		}
		if ns, unread, err := s.Notifications(ctx, bob.ID, false, 100); err != nil || len(ns) != 2 || unread != 2 {
			t.Fatalf("bob has %d notifications (%d unread), %v; want 2: the grant and the role change", len(ns), unread, err)
		}
		if v, _ := s.GroupFor(ctx, g.ID, bob.ID); v.ShareRole != groups.RoleEditor {
			t.Fatalf("bob's role after the change = %q", v.ShareRole)
		}

		// A group deleted meanwhile is not found, not an internal error.
		if _, _, err := s.PutShare(ctx, groups.Share{GroupID: uuid.NewString(), UserID: bob.ID, Role: groups.RoleViewer, CreatedAt: now}, nil); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("share of a missing group: %v, want not found", err)
		}
		if err := s.DeleteShare(ctx, g.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteShare(ctx, g.ID, bob.ID); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("deleting a missing share: %v, want not found", err)
		}
		if v, _ := s.GroupFor(ctx, g.ID, bob.ID); v.ShareRole != groups.RoleNone {
			t.Fatalf("bob still has %q after the share was removed", v.ShareRole)
		}
	})
}

func TestScopesAndPins(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
		own := newGroup(t, s, bob.ID, "bob-own", groups.Private)
		pub := newGroup(t, s, alice.ID, "alice-public", groups.Public)
		shared := newGroup(t, s, alice.ID, "alice-shared", groups.Private)
		hidden := newGroup(t, s, alice.ID, "alice-hidden", groups.Private)
		share(t, s, shared.ID, bob.ID, groups.RoleViewer)
		bobActor, admin := groups.Actor{UserID: bob.ID}, groups.Actor{UserID: uuid.NewString(), IsAdmin: true}

		ids := func(actor groups.Actor, scope GroupScope) []string {
			t.Helper()
			list, err := s.GroupsFor(ctx, actor, scope)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, v := range list {
				out = append(out, v.Group.Name)
				if v.Pinned {
					out[len(out)-1] += "*"
				}
			}
			return out
		}
		check := func(what string, got []string, want ...string) {
			t.Helper()
			if !slices.Equal(got, want) {
				t.Errorf("%s = %v, want %v", what, got, want)
			}
		}
		check("bob's dashboard before pins", ids(bobActor, ScopeDashboard), "bob-own")
		check("bob's visible groups", ids(bobActor, ScopeVisible), "bob-own", "alice-public", "alice-shared")
		check("public groups", ids(bobActor, ScopePublic), "alice-public")
		check("scope=all for a non-admin", ids(bobActor, ScopeAll), "bob-own", "alice-public", "alice-shared")
		check("scope=all for an admin", ids(admin, ScopeAll), "bob-own", "alice-public", "alice-shared", "alice-hidden")
		if _, err := s.GroupsFor(ctx, bobActor, "mine"); !errors.Is(err, groups.ErrInvalid) {
			t.Errorf("unknown scope: %v, want invalid", err)
		}

		now := time.Now()
		for _, g := range []*groups.Group{pub, shared, hidden, pub} { // hidden: the API refuses it; the store must still not show it
			if err := s.PutPin(ctx, bob.ID, g.ID, now); err != nil {
				t.Fatal(err)
			}
		}
		check("bob's dashboard with pins", ids(bobActor, ScopeDashboard), "bob-own", "alice-public*", "alice-shared*")
		check("bob's visible groups with pins", ids(bobActor, ScopeVisible), "bob-own", "alice-public*", "alice-shared*")
		dash, err := s.DashboardGroupIDs(ctx, bob.ID, false)
		if err != nil || !slices.Equal(dash, []string{own.ID, pub.ID, shared.ID}) {
			t.Errorf("DashboardGroupIDs = %v, %v; must be the dashboard scope's set", dash, err)
		}
		if v, err := s.GroupFor(ctx, pub.ID, bob.ID); err != nil || !v.Pinned {
			t.Errorf("GroupFor(pinned) = %+v, %v", v, err)
		}

		// Revoking the share and making the public group private empties the dashboard,
		// though the pins stay.
		if err := s.DeleteShare(ctx, shared.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		pub.Visibility = groups.Private
		if err := s.UpdateGroup(ctx, pub); err != nil {
			t.Fatal(err)
		}
		check("bob's dashboard after revocation", ids(bobActor, ScopeDashboard), "bob-own")
		check("bob's visible groups after revocation", ids(bobActor, ScopeVisible), "bob-own")
		check("bob's pinned group as an admin would see it", ids(groups.Actor{UserID: bob.ID, IsAdmin: true}, ScopeDashboard),
			"bob-own", "alice-public*", "alice-shared*", "alice-hidden*")

		if err := s.DeletePin(ctx, bob.ID, pub.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeletePin(ctx, bob.ID, pub.ID); err != nil {
			t.Fatalf("unpinning twice: %v", err)
		}
		if err := s.PutPin(ctx, bob.ID, uuid.NewString(), now); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("pinning a missing group: %v, want not found", err)
		}
	})
}

func TestNotifications(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
		g := newGroup(t, s, alice.ID, "core", groups.Public)
		base := µs(time.Now())
		var ids []string
		for i := range 3 {
			n := &groups.Notification{ID: uuid.NewString(), UserID: bob.ID, FromUserID: alice.ID, Kind: groups.NotifyLook,
				GroupID: g.ID, Message: "look", CreatedAt: base.Add(time.Duration(i) * time.Second)}
			if err := s.CreateNotification(ctx, n); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, n.ID)
		}
		list, unread, err := s.Notifications(ctx, bob.ID, false, 2)
		if err != nil || unread != 3 || len(list) != 2 || list[0].ID != ids[2] {
			t.Fatalf("Notifications(limit 2) = %d (first %v), unread %d, %v; want the newest 2 and 3 unread", len(list), list, unread, err)
		}
		n := list[0]
		if n.FromUsername != "alice" || n.GroupName != "core" || n.Kind != groups.NotifyLook || n.ReadAt != nil || !n.CreatedAt.Equal(base.Add(2*time.Second)) {
			t.Fatalf("notification = %+v", n)
		}
		if _, err := s.MarkNotificationRead(ctx, alice.ID, ids[0], time.Now()); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("alice marking bob's notification: %v, want not found", err)
		}
		readAt := µs(time.Now())
		got, err := s.MarkNotificationRead(ctx, bob.ID, ids[0], readAt)
		if err != nil || got.ReadAt == nil || !got.ReadAt.Equal(readAt) {
			t.Fatalf("MarkNotificationRead = %+v, %v", got, err)
		}
		if again, err := s.MarkNotificationRead(ctx, bob.ID, ids[0], readAt.Add(time.Hour)); err != nil || !again.ReadAt.Equal(readAt) {
			t.Fatalf("marking again = %+v, %v; want the first read time kept", again, err)
		}
		list, unread, err = s.Notifications(ctx, bob.ID, true, 100)
		if err != nil || unread != 2 || len(list) != 2 {
			t.Fatalf("unread only = %d, unread %d, %v", len(list), unread, err)
		}
		if list, _, _ := s.Notifications(ctx, alice.ID, false, 100); len(list) != 0 {
			t.Fatalf("alice sees %d of bob's notifications", len(list))
		}
		// Deleting alice deletes her group, and with it the notifications about it.
		if _, err := s.DeleteUser(ctx, alice.ID); err != nil {
			t.Fatal(err)
		}
		if list, _, _ := s.Notifications(ctx, bob.ID, false, 100); len(list) != 0 {
			t.Fatalf("notifications about alice's deleted group remain: %+v", list)
		}
	})
}

func TestDeleteUser(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		root := newUser(t, s, "root")
		if err := s.db.Model(&userRow{}).Where("id = ?", root.ID).Update("is_admin", true).Error; err != nil {
			t.Fatal(err)
		}
		alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
		g1 := newGroup(t, s, alice.ID, "a1", groups.Private, "192.0.2.1")
		g2 := newGroup(t, s, alice.ID, "a2", groups.Public)
		bobs := newGroup(t, s, bob.ID, "b", groups.Private)
		share(t, s, bobs.ID, alice.ID, groups.RoleEditor)
		share(t, s, g1.ID, bob.ID, groups.RoleViewer)
		if err := s.PutPin(ctx, bob.ID, g2.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		note := &groups.Notification{ID: uuid.NewString(), UserID: bob.ID, FromUserID: alice.ID, Kind: groups.NotifyLook, GroupID: bobs.ID, CreatedAt: time.Now()}
		if err := s.CreateNotification(ctx, note); err != nil {
			t.Fatal(err)
		}

		owned, err := s.DeleteUser(ctx, alice.ID)
		if err != nil || !slices.Equal(owned, []string{g1.ID, g2.ID}) {
			t.Fatalf("DeleteUser = %v, %v; want alice's two groups", owned, err)
		}
		if _, err := s.UserByUsername(ctx, "alice"); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("alice still exists: %v", err)
		}
		var left int64
		for _, table := range []string{"groups WHERE owner_id = ?", "shares WHERE user_id = ?", "targets WHERE group_id IN (SELECT id FROM groups WHERE owner_id = ?)"} {
			s.db.Raw("SELECT count(*) FROM "+table, alice.ID).Scan(&left)
			if left != 0 {
				t.Errorf("%s: %d rows left", table, left)
			}
		}
		if dash, _ := s.DashboardGroupIDs(ctx, bob.ID, false); !slices.Equal(dash, []string{bobs.ID}) {
			t.Errorf("bob's dashboard = %v, want only his own group", dash)
		}
		list, _, _ := s.Notifications(ctx, bob.ID, false, 10)
		if len(list) != 1 || list[0].FromUsername != "" || list[0].FromUserID != "" {
			t.Errorf("bob's notification from deleted alice = %+v, want kept with no sender", list)
		}
		if _, err := s.DeleteUser(ctx, alice.ID); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("deleting twice: %v", err)
		}
		if _, err := s.DeleteUser(ctx, root.ID); !errors.Is(err, groups.ErrConflict) {
			t.Fatalf("deleting the last administrator: %v, want conflict", err)
		}
		other := newUser(t, s, "root2")
		s.db.Model(&userRow{}).Where("id = ?", other.ID).Update("is_admin", true)
		if _, err := s.DeleteUser(ctx, root.ID); err != nil {
			t.Fatalf("deleting one of two administrators: %v", err)
		}

		// Two administrators deleting each other at the same moment: one must remain.
		third := newUser(t, s, "root3")
		s.db.Model(&userRow{}).Where("id = ?", third.ID).Update("is_admin", true)
		errs := make(chan error, 2)
		for _, id := range []string{other.ID, third.ID} {
			go func() { _, err := s.DeleteUser(ctx, id); errs <- err }()
		}
		var conflicts int
		for range 2 {
			if err := <-errs; errors.Is(err, groups.ErrConflict) {
				conflicts++
			} else if err != nil {
				t.Fatalf("concurrent deletion: %v", err)
			}
		}
		var admins int64
		s.db.Model(&userRow{}).Where("is_admin").Count(&admins)
		if admins != 1 || conflicts != 1 {
			t.Fatalf("after two administrators deleted each other: %d administrators left, %d refused; want 1 and 1", admins, conflicts)
		}
	})
}
