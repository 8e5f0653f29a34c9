package live

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/wire"
)

func TestHubKnowsWhichGroupsAResumingClientHad(t *testing.T) {
	h := testHub(t, Options{ResumeWindow: 40 * cutEvery})
	now := time.Now()
	old := follower(h, "alice", "A") // the socket that goes away
	h.cut([]ping.Result{result("A", "a1", 1)}, 0, now)
	since := h.pos // the last seq it saw
	h.unregister(old)

	// During the gap: another socket of alice's follows B, and results go on.
	other := follower(h, "alice", "B")
	h.mu.Lock()
	h.byUser["alice"] = map[*client]struct{}{other: {}}
	h.mu.Unlock()
	h.cut([]ping.Result{result("A", "a1", 2), result("B", "b1", 2)}, 0, now)

	back := follower(h, "alice")
	h.mu.Lock()
	known := h.knownGroups(back, since)
	h.mu.Unlock()
	if !known["A"] || known["B"] || len(known) != 1 {
		t.Fatalf("known groups %v; want A (followed before since), not B (joined after)", known)
	}

	// Another user's closed socket tells nothing about alice, and past the window
	// closed sockets are forgotten.
	bob := follower(h, "bob", "A")
	h.unregister(bob)
	for range 50 {
		h.cut([]ping.Result{result("A", "a1", 3)}, 0, now)
	}
	h.sweep()
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.gone); n != 0 {
		t.Fatalf("%d users' closed sockets kept past the window", n)
	}
}

// takeQueue empties c's queue: the results messages decoded, and the groups whose
// snapshots are queued.
func takeQueue(t *testing.T, c *client) (results []wire.Results, snapshots []string) {
	t.Helper()
	c.qmu.Lock()
	batch := c.queue
	c.queue, c.queued = nil, 0
	c.qmu.Unlock()
	for _, o := range batch {
		if o.group != "" {
			snapshots = append(snapshots, o.group)
			continue
		}
		var m wire.Results
		if err := json.Unmarshal(bytes.Join(o.parts, nil), &m); err != nil {
			t.Fatalf("queued message %q: %v", bytes.Join(o.parts, nil), err)
		}
		results = append(results, m)
	}
	return results, snapshots
}

// TestResumeOnAnotherReplicaReplaysTheGap: two hubs share a token, as the replicas of a
// cluster do, and hear the same results, cut at other moments on clocks 1 s apart. A
// client that followed a group on one and resumes on the other gets every result it
// missed (and a few it had, which it drops by time), in messages whose seq passes what
// it saw; groups the second hub has not kept long enough, and dashboards that changed
// meanwhile, get snapshots instead.
func TestResumeOnAnotherReplicaReplaysTheGap(t *testing.T) {
	opt := Options{ResumeToken: "cluster-token", ResumeSkew: 3 * time.Second}
	a, b := testHub(t, opt), testHub(t, opt)
	start := time.Now()
	clockA := func(i int) time.Time { return start.Add(time.Duration(i) * 50 * time.Millisecond) }
	clockB := func(i int) time.Time { return clockA(i).Add(-time.Second) } // B is 1 s behind
	onA := follower(a, "alice", "G")
	follower(b, "bob", "G", "H") // B keeps G and H because bob follows them there
	publish := func(i int) {
		rs := []ping.Result{result("G", "g1", int64(i)), result("H", "h1", int64(i))}
		a.cut(rs[:1], i%a.slotCount, clockA(i))
		// B hears each result 30 ms later, in other cuts: every other one a cut later.
		b.cut(rs, i%b.slotCount, clockB(i).Add(30*time.Millisecond))
	}
	for i := range 100 {
		publish(i)
	}
	seen, _ := takeQueue(t, onA)
	var since uint64
	got := map[int64]bool{}
	for _, m := range seen {
		since = m.Seq
		for _, it := range m.Items {
			got[it.At] = true
		}
	}
	a.unregister(onA)
	for i := 100; i < 160; i++ { // the gap: 3 s
		publish(i)
	}

	// alice comes back on B. B has kept G (and H) since before the gap, so she had
	// them unless her dashboard or the group's viewers changed meanwhile.
	back := follower(b, "alice")
	had := func(id string) bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.hadOnAnotherReplica("alice", id, since)
	}
	b.mu.Lock()
	if !b.canReplay("cluster-token", since) {
		b.mu.Unlock()
		t.Fatalf("B refuses to resume from A's seq %d (B at %d)", since, b.pos)
	}
	b.mu.Unlock()
	if !had("G") || !had("H") || had("N") {
		t.Fatalf("B thinks alice had G %v, H %v, N %v; want G and H (kept before since), not N", had("G"), had("H"), had("N"))
	}
	b.DashboardChanged("alice")
	if had("G") {
		t.Fatal("after alice's dashboard changed in the gap, B still takes G as had")
	}
	b.AccessChanged("H")
	b.mu.Lock()
	delete(b.dashChanged, "alice")
	b.mu.Unlock()
	if !had("G") || had("H") {
		t.Fatalf("after H's viewers changed: had G %v, H %v; want G only", had("G"), had("H"))
	}
	b.mu.Lock()
	b.follow(back, []grant{{id: "G", view: view{role: groups.RoleViewer}, meta: &groups.Group{ID: "G"}}}, false)
	// a group B starts keeping only now cannot be replayed: it gets a snapshot
	b.follow(back, []grant{{id: "N", view: view{role: groups.RoleViewer}, meta: &groups.Group{ID: "N"}}}, false)
	ok := b.replay(back, since)
	b.mu.Unlock()
	if !ok {
		t.Fatal("replay refused")
	}
	replayed, snaps := takeQueue(t, back)
	if len(snaps) != 1 || snaps[0] != "N" {
		t.Fatalf("snapshots queued %v; want only N, which B did not keep", snaps)
	}
	last := since
	for _, m := range replayed {
		if m.Seq <= last {
			t.Fatalf("replayed seq %d after %d: the client would drop it", m.Seq, last)
		}
		last = m.Seq
		for _, it := range m.Items {
			if it.G != "G" {
				t.Fatalf("replayed an item of %s", it.G)
			}
			got[it.At] = true
		}
	}
	for i := range 160 {
		if !got[int64(i)] {
			t.Fatalf("result %d neither seen on A nor replayed by B (since %d)", i, since)
		}
	}
	// The live stream on B goes on after the replay's seqs.
	publish(160)
	for range b.slotCount {
		b.cut(nil, back.slot, clockB(160).Add(time.Second))
	}
	next, _ := takeQueue(t, back)
	if len(next) != 1 || next[0].Seq <= last || next[0].Items[0].At != 160 {
		t.Fatalf("after the replay (last seq %d) B sent %+v", last, next)
	}

	// Positions cannot be pushed ahead: a since past B's clock and the skew is refused.
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.canReplay("cluster-token", position(time.Now().Add(time.Minute))) {
		t.Fatal("B resumes from a position a minute ahead of its clock")
	}
	if b.canReplay("another-cluster", since) {
		t.Fatal("B resumes with another token")
	}
}
