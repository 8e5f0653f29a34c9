package store

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
)

// changeLog is a Publisher that keeps what it is told.
type changeLog struct {
	mu      sync.Mutex
	changes []groups.Change
}

func (l *changeLog) Publish(c groups.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, c)
}

// take returns the changes published since the last take.
func (l *changeLog) take() []groups.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.changes
	l.changes = nil
	return out
}

// TestStorePublishesEachCommittedChangeOnce: every mutation that commits a change to
// what someone sees or what is probed announces exactly one change, after the commit,
// saying what it was; a mutation that fails, is refused or changes nothing announces
// none. Subscribers (the live hub, the scheduler) rely on this instead of the HTTP
// layer remembering to tell them.
func TestStorePublishesEachCommittedChangeOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		log := &changeLog{}
		alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
		admin := newUser(t, s, "root")
		if err := s.SetAdmin(ctx, admin.ID, true); err != nil {
			t.Fatal(err)
		}
		s.changes = log
		now := µs(time.Now())
		missing := uuid.NewString()

		// expect runs a mutation and checks what it announced: want, or nothing.
		expect := func(what string, err error, want ...groups.Change) {
			t.Helper()
			got := log.take()
			if len(want) > 0 && err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s (err %v) published %d changes %+v, want %d %+v", what, err, len(got), got, len(want), want)
			}
			for i := range want {
				if !sameChange(got[i], want[i]) {
					t.Fatalf("%s published %+v, want %+v", what, got[i], want[i])
				}
			}
		}

		tg := func(addr string) groups.Target {
			x := groups.Target{ID: uuid.NewString(), Address: addr, CreatedAt: now}
			x.IP, _ = netip.ParseAddr(addr)
			return x
		}
		g := &groups.Group{ID: uuid.NewString(), OwnerID: alice.ID, Name: "core", Visibility: groups.Private,
			Interval: time.Second, Timeout: time.Second, PacketSize: 56, CreatedAt: now, UpdatedAt: now,
			Targets: []groups.Target{tg("192.0.2.1"), tg("example.net")}}
		_, err := s.CreateGroup(ctx, g, Quota{})
		expect("create group", err, groups.Change{Kind: groups.ChangeGroupCreated, GroupID: g.ID, UserID: alice.ID,
			TargetIDs: groups.TargetIDs(g.Targets)})
		ip, host := g.Targets[0].ID, g.Targets[1].ID
		dup := *g
		dup.Targets = nil
		_, err = s.CreateGroup(ctx, &dup, Quota{})
		expect("create a group whose ID is taken", err)
		over := &groups.Group{ID: uuid.NewString(), OwnerID: alice.ID, Name: "over", Visibility: groups.Private,
			Interval: time.Second, Timeout: time.Second, PacketSize: 56, CreatedAt: now, UpdatedAt: now}
		_, err = s.CreateGroup(ctx, over, Quota{MaxGroups: 1})
		expect("create a group past the quota", err)

		g.Name = "core 2"
		expect("rename", s.UpdateGroup(ctx, g), groups.Change{Kind: groups.ChangeGroupUpdated, GroupID: g.ID})
		g.Metrics = true
		expect("export metrics", s.UpdateGroup(ctx, g), groups.Change{Kind: groups.ChangeGroupUpdated, GroupID: g.ID})
		g.Visibility = groups.Public
		expect("make public", s.UpdateGroup(ctx, g), groups.Change{Kind: groups.ChangeGroupUpdated, GroupID: g.ID, AccessChanged: true})
		expect("update a missing group", s.UpdateGroup(ctx, &groups.Group{ID: missing, Visibility: groups.Private}))

		added := tg("192.0.2.2")
		_, _, err = s.AddTargets(ctx, g.ID, []groups.Target{added, tg("192.0.2.1")}, Quota{})
		expect("add targets", err, groups.Change{Kind: groups.ChangeTargets, GroupID: g.ID, TargetIDs: []string{added.ID}})
		_, _, err = s.AddTargets(ctx, g.ID, []groups.Target{tg("192.0.2.2")}, Quota{})
		expect("add only targets already there", err)
		_, _, err = s.AddTargets(ctx, g.ID, []groups.Target{tg("192.0.2.9")}, Quota{MaxTargets: 3})
		expect("add past the quota", err)
		_, _, err = s.AddTargets(ctx, missing, []groups.Target{tg("192.0.2.9")}, Quota{})
		expect("add to a missing group", err)

		expect("pause", s.SetTargetPaused(ctx, g.ID, ip, true), groups.Change{Kind: groups.ChangeTargets, GroupID: g.ID, TargetIDs: []string{ip}})
		expect("pause a target of another group", s.SetTargetPaused(ctx, missing, ip, true))
		_, err = s.SetTargetsPaused(ctx, g.ID, []string{ip, added.ID}, false)
		expect("resume several", err, groups.Change{Kind: groups.ChangeTargets, GroupID: g.ID, TargetIDs: []string{ip, added.ID}})
		_, err = s.SetTargetsPaused(ctx, g.ID, []string{missing}, false)
		expect("resume none", err)

		resolved := netip.MustParseAddr("192.0.2.77")
		expect("a hostname resolved to a new address", s.SetTargetIP(ctx, host, resolved),
			groups.Change{Kind: groups.ChangeTargets, GroupID: g.ID, TargetIDs: []string{host}})
		expect("the same address again", s.SetTargetIP(ctx, host, resolved))
		expect("the address of a missing target", s.SetTargetIP(ctx, missing, resolved))

		note := &groups.Notification{ID: uuid.NewString(), UserID: bob.ID, FromUserID: alice.ID, Kind: groups.NotifyShared, GroupID: g.ID, CreatedAt: now}
		_, _, err = s.PutShare(ctx, groups.Share{GroupID: g.ID, UserID: bob.ID, Role: groups.RoleViewer, CreatedAt: now}, note)
		expect("share", err, groups.Change{Kind: groups.ChangeShare, GroupID: g.ID, UserID: bob.ID, Notification: note})
		_, _, err = s.PutShare(ctx, groups.Share{GroupID: g.ID, UserID: bob.ID, Role: groups.RoleViewer, CreatedAt: now}, note)
		expect("the same share again", err)
		_, _, err = s.PutShare(ctx, groups.Share{GroupID: missing, UserID: bob.ID, Role: groups.RoleViewer, CreatedAt: now}, nil)
		expect("share a missing group", err)

		expect("pin", s.PutPin(ctx, bob.ID, g.ID, now), groups.Change{Kind: groups.ChangePin, UserID: bob.ID, GroupID: g.ID})
		expect("pin again", s.PutPin(ctx, bob.ID, g.ID, now))
		expect("unpin", s.DeletePin(ctx, bob.ID, g.ID), groups.Change{Kind: groups.ChangePin, UserID: bob.ID, GroupID: g.ID})
		expect("unpin again", s.DeletePin(ctx, bob.ID, g.ID))

		look := &groups.Notification{ID: uuid.NewString(), UserID: bob.ID, FromUserID: alice.ID, Kind: groups.NotifyLook, GroupID: g.ID, CreatedAt: now}
		expect("notify", s.CreateNotification(ctx, look),
			groups.Change{Kind: groups.ChangeNotification, UserID: bob.ID, GroupID: g.ID, Notification: look})
		expect("notify again with the same ID", s.CreateNotification(ctx, look))

		expect("unshare", s.DeleteShare(ctx, g.ID, bob.ID), groups.Change{Kind: groups.ChangeShare, GroupID: g.ID, UserID: bob.ID})
		expect("unshare again", s.DeleteShare(ctx, g.ID, bob.ID))

		sessions := make([]string, 3)
		for i := range sessions {
			sessions[i] = uuid.NewString()
			if err := s.CreateSession(ctx, &auth.Session{ID: sessions[i], UserID: bob.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastSeenAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		expect("sign out", s.DeleteSession(ctx, sessions[0]), groups.Change{Kind: groups.ChangeCredentialsEnded, CredentialIDs: sessions[:1]})
		expect("sign out again", s.DeleteSession(ctx, sessions[0]))
		ended, err := s.SetPassword(ctx, bob.ID, "x", "y", false, sessions[2])
		expect("change the password", err, groups.Change{Kind: groups.ChangeCredentialsEnded, UserID: bob.ID, CredentialIDs: sessions[1:2]})
		if !slices.Equal(ended, sessions[1:2]) {
			t.Fatalf("SetPassword ended %v, want %v", ended, sessions[1:2])
		}
		_, err = s.SetPassword(ctx, bob.ID, "stale", "z", false, "")
		expect("change the password from a stale one", err)
		token := &auth.Token{ID: uuid.NewString(), UserID: bob.ID, Name: "ci", Hash: "h", CreatedAt: now}
		if err := s.CreateToken(ctx, token); err != nil {
			t.Fatal(err)
		}
		expect("revoke a token", s.DeleteToken(ctx, bob.ID, token.ID), groups.Change{Kind: groups.ChangeCredentialsEnded, UserID: bob.ID, CredentialIDs: []string{token.ID}})
		expect("revoke it again", s.DeleteToken(ctx, bob.ID, token.ID))

		_, err = s.DeleteTargets(ctx, g.ID, []string{added.ID})
		expect("prune", err, groups.Change{Kind: groups.ChangeTargets, GroupID: g.ID, TargetIDs: []string{added.ID}})
		_, err = s.DeleteTargets(ctx, g.ID, []string{added.ID})
		expect("prune nothing", err)
		expect("delete a target", s.DeleteTarget(ctx, g.ID, ip), groups.Change{Kind: groups.ChangeTargets, GroupID: g.ID, TargetIDs: []string{ip}})
		expect("delete it again", s.DeleteTarget(ctx, g.ID, ip))

		expect("delete the group", s.DeleteGroup(ctx, g.ID), groups.Change{Kind: groups.ChangeGroupDeleted, GroupID: g.ID})
		expect("delete it again", s.DeleteGroup(ctx, g.ID))

		other := newGroup(t, s, bob.ID, "bob's", groups.Private)
		log.take()
		_, err = s.DeleteUser(ctx, admin.ID)
		expect("delete the last administrator", err)
		_, err = s.DeleteUser(ctx, bob.ID)
		expect("delete a user", err, groups.Change{Kind: groups.ChangeUserDeleted, UserID: bob.ID, GroupIDs: []string{other.ID}})
		_, err = s.DeleteUser(ctx, bob.ID)
		expect("delete them again", err)
	})
}

func sameChange(a, b groups.Change) bool {
	sameNote := (a.Notification == nil) == (b.Notification == nil) &&
		(a.Notification == nil || a.Notification.ID == b.Notification.ID && a.Notification.UserID == b.Notification.UserID)
	return a.Kind == b.Kind && a.GroupID == b.GroupID && a.UserID == b.UserID && a.AccessChanged == b.AccessChanged &&
		slices.Equal(a.GroupIDs, b.GroupIDs) && slices.Equal(a.TargetIDs, b.TargetIDs) &&
		slices.Equal(a.CredentialIDs, b.CredentialIDs) && sameNote
}

// TestGroupsByID: one query answers for many groups as one viewer sees them (share
// role, pin) with their targets; unknown IDs and strings that are not UUIDs are absent.
func TestGroupsByID(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
		shared := newGroup(t, s, alice.ID, "shared", groups.Private, "192.0.2.1", "192.0.2.2")
		public := newGroup(t, s, alice.ID, "public", groups.Public)
		private := newGroup(t, s, alice.ID, "private", groups.Private, "192.0.2.3")
		share(t, s, shared.ID, bob.ID, groups.RoleEditor)
		if err := s.PutPin(ctx, bob.ID, public.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		ids := []string{shared.ID, public.ID, private.ID, uuid.NewString(), "not-a-uuid", shared.ID}
		got, err := s.GroupsByID(ctx, ids, bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[shared.ID].ShareRole != groups.RoleEditor || got[shared.ID].TargetCount != 2 ||
			!got[public.ID].Pinned || got[private.ID].ShareRole != groups.RoleNone || got[private.ID].Group.Name != "private" {
			t.Fatalf("GroupsByID = %+v", got)
		}
		targets, err := s.TargetsOfGroups(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(targets) != 2 || len(targets[shared.ID]) != 2 || targets[shared.ID][0].Address != "192.0.2.1" || len(targets[private.ID]) != 1 {
			t.Fatalf("TargetsOfGroups = %+v", targets)
		}
		carol := newUser(t, s, "carol")
		if err := s.PutPin(ctx, bob.ID, shared.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		viewers, err := s.ViewersOf(ctx, shared.ID, []string{bob.ID, carol.ID, alice.ID, "not-a-uuid", bob.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(viewers) != 1 || viewers[bob.ID] != (ViewerState{ShareRole: groups.RoleEditor, Pinned: true}) {
			t.Fatalf("ViewersOf = %+v, want bob as a pinning editor only", viewers)
		}
	})
}
