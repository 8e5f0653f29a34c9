package live

import (
	"context"
	"encoding/json"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// countingStore is the real store, counting the hub's reads.
type countingStore struct {
	*store.Store
	groupFor, groupsByID, targets, targetsOfGroups, viewersOf atomic.Int64
}

func (s *countingStore) ViewersOf(ctx context.Context, id string, userIDs []string) (map[string]store.ViewerState, error) {
	s.viewersOf.Add(1)
	return s.Store.ViewersOf(ctx, id, userIDs)
}

func (s *countingStore) GroupFor(ctx context.Context, id, viewerID string) (*store.GroupWithRole, error) {
	s.groupFor.Add(1)
	return s.Store.GroupFor(ctx, id, viewerID)
}

func (s *countingStore) GroupsByID(ctx context.Context, ids []string, viewerID string) (map[string]store.GroupWithRole, error) {
	s.groupsByID.Add(1)
	return s.Store.GroupsByID(ctx, ids, viewerID)
}

func (s *countingStore) Targets(ctx context.Context, groupID string) ([]groups.Target, error) {
	s.targets.Add(1)
	return s.Store.Targets(ctx, groupID)
}

func (s *countingStore) TargetsOfGroups(ctx context.Context, ids []string) (map[string][]groups.Target, error) {
	s.targetsOfGroups.Add(1)
	return s.Store.TargetsOfGroups(ctx, ids)
}

func (s *countingStore) queries() int64 {
	return s.groupFor.Load() + s.groupsByID.Load() + s.targets.Load() + s.targetsOfGroups.Load() + s.viewersOf.Load()
}

// TestSubscribeReadsManyGroupsInOneQuery: a subscribe naming n groups costs one read
// of the groups and one of their targets, not one (or two) per group; unknown groups
// and groups the viewer may not see are refused one by one as before, and a second
// subscriber of groups the hub has loaded costs no target read at all.
func TestSubscribeReadsManyGroupsInOneQuery(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/live.db", store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	owner := &auth.User{ID: uuid.NewString(), Username: "owner", PasswordHash: "x", CreatedAt: time.Now()}
	viewer := &auth.User{ID: uuid.NewString(), Username: "viewer", PasswordHash: "x", CreatedAt: time.Now()}
	for _, u := range []*auth.User{owner, viewer} {
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	const n = 300
	var ids []string
	for i := range n + 1 {
		vis := groups.Public
		if i == n {
			vis = groups.Private // the viewer may not see this one
		}
		ip := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		g := &groups.Group{ID: uuid.NewString(), OwnerID: owner.ID, Name: "g", Visibility: vis, Interval: time.Second,
			Timeout: time.Second, PacketSize: 56, CreatedAt: time.Now(), UpdatedAt: time.Now(),
			Targets: []groups.Target{{ID: uuid.NewString(), Address: ip.String(), IP: ip, CreatedAt: time.Now()}}}
		if _, err := st.CreateGroup(ctx, g, store.Quota{}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, g.ID)
	}
	unknown := uuid.NewString()
	counted := &countingStore{Store: st}
	h := testHub(t, Options{})
	h.opt.Store = counted

	c := newClient(h, nil, Viewer{UserID: viewer.ID}) // no writer: messages stay queued
	h.subscribe(c, append(append([]string{}, ids...), unknown, "not-a-uuid"))
	if got := counted.queries(); got != 2 || counted.groupsByID.Load() != 1 || counted.targetsOfGroups.Load() != 1 {
		t.Fatalf("subscribing to %d groups made %d reads (GroupFor %d, GroupsByID %d, Targets %d, TargetsOfGroups %d), want 2: one for the groups, one for their targets",
			n+3, got, counted.groupFor.Load(), counted.groupsByID.Load(), counted.targets.Load(), counted.targetsOfGroups.Load())
	}
	h.mu.Lock()
	followed := len(c.subs)
	var withTargets int
	for _, s := range c.subs {
		if s.g.meta != nil && len(s.g.meta.Targets) == 1 {
			withTargets++
		}
	}
	h.mu.Unlock()
	if followed != n || withTargets != n {
		t.Fatalf("follows %d groups (%d with their target), want %d", followed, withTargets, n)
	}
	refused := map[string]bool{}
	c.qmu.Lock()
	for _, o := range c.queue {
		var m struct{ Type, Code, ID string }
		if len(o.parts) > 0 && json.Unmarshal(joinParts(o.parts), &m) == nil && m.Type == "error" {
			refused[m.ID] = true
		}
	}
	c.qmu.Unlock()
	if len(refused) != 3 || !refused[ids[n]] || !refused[unknown] || !refused["not-a-uuid"] {
		t.Fatalf("refused %v, want the private group, the unknown one and the malformed ID", refused)
	}

	// A second socket following the same groups: the hub has their targets already.
	c2 := newClient(h, nil, Viewer{UserID: viewer.ID})
	h.subscribe(c2, ids[:n])
	if got := counted.queries(); got != 3 {
		t.Fatalf("a second subscribe made %d more reads, want 1 (the groups, for the viewer's role)", got-2)
	}
}

func joinParts(parts [][]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// TestLossLeavesOutProbesThatNeverLeft: the snapshot's loss over the last minute counts
// answers and timeouts, not probes that never left (a name that does not resolve, a
// refused send), which the dashboard keeps out of its loss figures too (isLoss).
func TestLossLeavesOutProbesThatNeverLeft(t *testing.T) {
	now := time.Now()
	ts := newTargetState("t", "local")
	for i, r := range []ping.Result{
		{OK: true, RTT: time.Millisecond},
		{Err: ping.ErrTimeout},
		{}, // lost without a reason: a timeout
		{OK: true, RTT: time.Millisecond},
		{Err: "resolve nx.example: lookup nx.example: no such host"},
		{Err: "send: sendto: network is unreachable"},
	} {
		r.SentAt = now.Add(time.Duration(i-10) * time.Second)
		ts.record(itemOf(&r, ts))
	}
	if loss, ok := ts.loss1m(now); !ok || loss != 0.5 {
		t.Fatalf("loss_1m = %v (%v), want 0.5: 2 lost of 4 that left", loss, ok)
	}
	only := newTargetState("u", "local")
	r := ping.Result{SentAt: now.Add(-time.Second), Err: "resolve nx.example: no such host"}
	only.record(itemOf(&r, only))
	if loss, ok := only.loss1m(now); ok {
		t.Fatalf("loss_1m of a target none of whose probes left = %v, want none", loss)
	}
}

// TestAccessChangeReadsEveryFollowerAtOnce: a public group followed by many users turns
// private; the hub re-checks all of them with one read of their shares and pins (not
// one per user): the user it is shared with keeps it, the others lose it.
func TestAccessChangeReadsEveryFollowerAtOnce(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/live.db", store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	owner := &auth.User{ID: uuid.NewString(), Username: "owner", PasswordHash: "x", CreatedAt: time.Now()}
	if err := st.CreateUser(ctx, owner); err != nil {
		t.Fatal(err)
	}
	g := &groups.Group{ID: uuid.NewString(), OwnerID: owner.ID, Name: "g", Visibility: groups.Public, Interval: time.Second,
		Timeout: time.Second, PacketSize: 56, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if _, err := st.CreateGroup(ctx, g, store.Quota{}); err != nil {
		t.Fatal(err)
	}
	counted := &countingStore{Store: st}
	h := testHub(t, Options{})
	h.opt.Store = counted
	const n = 50
	var clients []*client
	for i := range n {
		u := &auth.User{ID: uuid.NewString(), Username: "u" + uuid.NewString()[:8], PasswordHash: "x", CreatedAt: time.Now()}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, _, err := st.PutShare(ctx, groups.Share{GroupID: g.ID, UserID: u.ID, Role: groups.RoleViewer, CreatedAt: time.Now()}, nil); err != nil {
				t.Fatal(err)
			}
		}
		c := newClient(h, nil, Viewer{UserID: u.ID}) // no writer: messages stay queued
		h.subscribe(c, []string{g.ID})
		clients = append(clients, c)
	}
	g.Visibility = groups.Private
	if err := st.UpdateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	before := counted.queries()
	if err := h.applyAccessChanged(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	// The group itself (settings and targets) is read once, its followers once.
	if got := counted.queries() - before; got > 3 || counted.viewersOf.Load() != 1 {
		t.Fatalf("re-checking %d followers made %d reads (ViewersOf %d, GroupFor %d, Targets %d), want at most 3 whatever their number",
			n, got, counted.viewersOf.Load(), counted.groupFor.Load(), counted.targets.Load())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, c := range clients {
		if _, follows := c.subs[g.ID]; follows != (i == 0) {
			t.Fatalf("follower %d still follows the group: %v (only the one it is shared with should)", i, follows)
		}
	}
}
