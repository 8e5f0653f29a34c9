package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/groups"
)

func newGroup(t *testing.T, s *Store, ownerID, name string, vis groups.Visibility, addrs ...string) *groups.Group {
	t.Helper()
	now := µs(time.Now())
	g := &groups.Group{ID: uuid.NewString(), OwnerID: ownerID, Name: name, Visibility: vis,
		Interval: 1500 * time.Millisecond, Timeout: 700 * time.Millisecond, PacketSize: 64, CreatedAt: now, UpdatedAt: now}
	for i, a := range addrs {
		tg := groups.Target{ID: uuid.NewString(), Address: a, CreatedAt: now.Add(time.Duration(i) * time.Microsecond)}
		tg.IP, _ = netip.ParseAddr(a)
		g.Targets = append(g.Targets, tg)
	}
	if _, err := s.CreateGroup(context.Background(), g, Quota{}); err != nil {
		t.Fatalf("create group: %v", err)
	}
	return g
}

func share(t *testing.T, s *Store, groupID, userID string, role groups.Role) {
	t.Helper()
	err := s.db.Exec("INSERT INTO shares (group_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
		groupID, userID, string(role), time.Now().UTC()).Error
	if err != nil {
		t.Fatal(err)
	}
}

func TestGroupsRoundTrip(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := newUser(t, s, "alice")
		g := newGroup(t, s, alice.ID, "core", groups.Private, "192.0.2.1", "2001:db8::1", "example.net")

		v, err := s.GroupFor(ctx, g.ID, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := v.Group
		if got.Name != "core" || got.OwnerName != "alice" || got.Interval != 1500*time.Millisecond ||
			got.Timeout != 700*time.Millisecond || got.PacketSize != 64 || got.Visibility != groups.Private ||
			!got.CreatedAt.Equal(g.CreatedAt) || v.TargetCount != 3 || v.ShareRole != groups.RoleNone {
			t.Fatalf("GroupFor = %+v (count %d, role %q)", got, v.TargetCount, v.ShareRole)
		}
		targets, err := s.Targets(ctx, g.ID)
		if err != nil || len(targets) != 3 {
			t.Fatalf("Targets = %+v, %v", targets, err)
		}
		for i, want := range g.Targets {
			if targets[i].Address != want.Address || targets[i].IP != want.IP {
				t.Errorf("target %d = %s/%v, want %s/%v (in the order added)", i, targets[i].Address, targets[i].IP, want.Address, want.IP)
			}
		}
		if _, err := s.CreateGroup(ctx, &groups.Group{ID: g.ID, OwnerID: alice.ID, Name: "again", Visibility: groups.Private,
			Interval: time.Second, Timeout: time.Second, PacketSize: 56}, Quota{}); !errors.Is(err, groups.ErrConflict) {
			t.Fatalf("create with an existing id: err = %v, want conflict", err)
		}
		// As nobody in particular (the live hub reading it for every follower).
		if v, err := s.GroupFor(ctx, g.ID, ""); err != nil || v.Group.Name != "core" || v.ShareRole != groups.RoleNone {
			t.Fatalf("GroupFor as nobody = %+v, %v", v, err)
		}
		if _, err := s.GroupFor(ctx, uuid.NewString(), alice.ID); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("missing group: err = %v", err)
		}

		got.Name, got.Paused, got.Visibility, got.Interval = "core-2", true, groups.Public, 5*time.Second
		if err := s.UpdateGroup(ctx, got); err != nil {
			t.Fatal(err)
		}
		v2, _ := s.GroupFor(ctx, g.ID, alice.ID)
		if v2.Group.Name != "core-2" || !v2.Group.Paused || v2.Group.Visibility != groups.Public || v2.Group.Interval != 5*time.Second {
			t.Fatalf("after update: %+v", v2.Group)
		}
		if err := s.UpdateGroup(ctx, &groups.Group{ID: uuid.NewString(), Name: "x", Visibility: groups.Private}); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("update missing: err = %v", err)
		}

		if err := s.DeleteGroup(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteGroup(ctx, g.ID); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("delete twice: err = %v", err)
		}
		var orphans int64
		s.db.Table("targets").Where("group_id = ?", g.ID).Count(&orphans)
		if orphans != 0 {
			t.Fatalf("deleting a group left %d targets behind (foreign keys not enforced?)", orphans)
		}
	})
}

func TestGroupsForVisibility(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice, bob, carol := newUser(t, s, "alice"), newUser(t, s, "bob"), newUser(t, s, "carol")
		own := newGroup(t, s, alice.ID, "alice-private", groups.Private)
		pub := newGroup(t, s, bob.ID, "bob-public", groups.Public)
		hidden := newGroup(t, s, bob.ID, "bob-private", groups.Private)
		shared := newGroup(t, s, carol.ID, "carol-shared", groups.Private)
		share(t, s, shared.ID, alice.ID, groups.RoleEditor)

		list, err := s.GroupsFor(ctx, groups.Actor{UserID: alice.ID}, ScopeVisible)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]groups.Role{}
		for _, v := range list {
			seen[v.Group.ID] = v.ShareRole
		}
		if len(list) != 3 {
			t.Fatalf("alice sees %d groups, want 3 (own, public, shared): %v", len(list), seen)
		}
		if _, ok := seen[hidden.ID]; ok {
			t.Fatal("alice sees bob's private group")
		}
		if seen[shared.ID] != groups.RoleEditor || seen[own.ID] != groups.RoleNone || seen[pub.ID] != groups.RoleNone {
			t.Fatalf("share roles = %v", seen)
		}
		all, err := s.GroupsFor(ctx, groups.Actor{UserID: alice.ID, IsAdmin: true}, ScopeAll)
		if err != nil || len(all) != 4 {
			t.Fatalf("all groups = %d, %v; want 4", len(all), err)
		}
		v, err := s.GroupFor(ctx, hidden.ID, alice.ID)
		if err != nil || v.ShareRole != groups.RoleNone || v.Group.OwnerID != bob.ID {
			t.Fatalf("GroupFor(hidden) = %+v, %v (the store finds it; access is decided by groups.RoleFor)", v, err)
		}
	})
}

func TestTargets(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
		g := newGroup(t, s, alice.ID, "g", groups.Private, "192.0.2.1")
		other := newGroup(t, s, bob.ID, "other", groups.Private, "192.0.2.9")

		var batch []groups.Target
		for i := range 1200 { // more than one insert chunk
			addr := fmt.Sprintf("10.%d.%d.1", i/256, i%256)
			batch = append(batch, groups.Target{ID: uuid.NewString(), Address: addr, IP: netip.MustParseAddr(addr), CreatedAt: time.Now()})
		}
		batch = append(batch, groups.Target{ID: uuid.NewString(), Address: "192.0.2.1", CreatedAt: time.Now()})
		added, _, err := s.AddTargets(ctx, g.ID, batch, Quota{})
		if err != nil || len(added) != 1200 {
			t.Fatalf("AddTargets added %d, %v; want 1200 (the existing address skipped)", len(added), err)
		}
		again, _, err := s.AddTargets(ctx, g.ID, batch[:10], Quota{})
		if err != nil || len(again) != 0 {
			t.Fatalf("re-adding: added %d, %v", len(again), err)
		}
		if n, err := s.CountTargetsOwnedBy(ctx, alice.ID); err != nil || n != 1201 {
			t.Fatalf("CountTargetsOwnedBy = %d, %v", n, err)
		}

		first := g.Targets[0]
		if err := s.SetTargetPaused(ctx, g.ID, first.ID, true); err != nil {
			t.Fatal(err)
		}
		got, err := s.Target(ctx, g.ID, first.ID)
		if err != nil || !got.Paused {
			t.Fatalf("after pause: %+v, %v", got, err)
		}
		if err := s.SetTargetPaused(ctx, other.ID, first.ID, false); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("pausing through another group: err = %v, want not found", err)
		}
		if err := s.DeleteTarget(ctx, other.ID, first.ID); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("deleting through another group: err = %v, want not found", err)
		}
		if err := s.DeleteTarget(ctx, g.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Target(ctx, g.ID, first.ID); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("deleted target: err = %v", err)
		}
	})
}
