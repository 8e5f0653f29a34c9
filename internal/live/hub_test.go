package live

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
	"pingdeck/internal/wire"
)

// These tests drive the hub's routing directly: clients whose writer never runs, so
// what the hub queues for them stays in their queue to be read back. The tests with
// real sockets are in internal/api (ws_test.go) and cmd/server.

// noStore is a Store and Credentials the routing tests never reach.
type noStore struct{}

func (noStore) GroupFor(context.Context, string, string) (*store.GroupWithRole, error) {
	return nil, groups.ErrNotFound
}
func (noStore) GroupsByID(context.Context, []string, string) (map[string]store.GroupWithRole, error) {
	return nil, nil
}
func (noStore) ViewersOf(context.Context, string, []string) (map[string]store.ViewerState, error) {
	return nil, nil
}
func (noStore) Targets(context.Context, string) ([]groups.Target, error) { return nil, nil }
func (noStore) TargetsOfGroups(context.Context, []string) (map[string][]groups.Target, error) {
	return nil, nil
}
func (noStore) DashboardGroupIDs(context.Context, string, bool) ([]string, error) {
	return nil, nil
}
func (noStore) RecentResults(context.Context, []string, time.Time, int) ([]ping.Result, error) {
	return nil, nil
}
func (noStore) Recheck(context.Context, auth.Credential) (*auth.User, error) { return nil, nil }

func testHub(t *testing.T, o Options) *Hub {
	t.Helper()
	o.Store, o.Credentials = noStore{}, noStore{}
	h, err := NewHub(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// follower is a started client following groupIDs whose queue the test reads.
func follower(h *Hub, user string, groupIDs ...string) *client {
	c := newClient(h, nil, Viewer{UserID: user}) // no writer: messages stay queued
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = struct{}{}
	h.joinSlot(c)
	var grants []grant
	for _, id := range groupIDs {
		grants = append(grants, grant{id: id, view: view{role: groups.RoleViewer}, meta: &groups.Group{ID: id}})
	}
	h.follow(c, grants, false)
	return c
}

// queued takes c's queued messages, decoded.
func queued(t *testing.T, c *client) []wire.Results {
	t.Helper()
	c.qmu.Lock()
	batch := c.queue
	c.queue, c.queued = nil, 0
	c.qmu.Unlock()
	var out []wire.Results
	for _, o := range batch {
		var m wire.Results
		if err := json.Unmarshal(bytes.Join(o.parts, nil), &m); err != nil {
			t.Fatalf("queued message %q: %v", bytes.Join(o.parts, nil), err)
		}
		out = append(out, m)
	}
	return out
}

func result(group, target string, at int64) ping.Result {
	return ping.Result{GroupID: group, TargetID: target, SentAt: time.UnixMilli(at), OK: true, RTT: time.Millisecond}
}

// cutTick runs one full tick: slotCount cuts, the first with batch.
func cutTick(h *Hub, batch []ping.Result, now time.Time) {
	for slot := range h.slotCount {
		h.cut(batch, slot, now)
		batch = nil
	}
}

func TestHubRoutesResultsOnlyToFollowers(t *testing.T) {
	h := testHub(t, Options{})
	a := follower(h, "u1", "A")
	ab := follower(h, "u2", "A", "B")
	none := follower(h, "u3")
	c := follower(h, "u4", "C")

	cutTick(h, []ping.Result{result("A", "a1", 1000), result("B", "b1", 1000), result("A", "a2", 1000), result("D", "d1", 1000)}, time.Now())

	groupsOf := func(ms []wire.Results) map[string]int {
		n := map[string]int{}
		for _, m := range ms {
			for _, it := range m.Items {
				n[it.G]++
			}
		}
		return n
	}
	tests := []struct {
		name string
		c    *client
		want map[string]int
	}{
		{"follows A", a, map[string]int{"A": 2}},
		{"follows A and B", ab, map[string]int{"A": 2, "B": 1}},
		{"follows nothing", none, map[string]int{}},
		{"follows a group without results", c, map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := queued(t, tt.c)
			if got := groupsOf(ms); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("received %v, want %v", got, tt.want)
			}
			if len(tt.want) > 0 && len(ms) != 1 {
				t.Fatalf("%d messages in one tick, want 1", len(ms))
			}
		})
	}
}

func TestHubSpreadsClientsOverSlotsAndMergesCuts(t *testing.T) {
	h := testHub(t, Options{})
	if h.slotCount != 32 {
		t.Fatalf("slotCount = %d at a 200 ms tick, want 32", h.slotCount)
	}
	var cs []*client
	for i := range 64 {
		cs = append(cs, follower(h, fmt.Sprint("u", i), "A"))
	}
	for slot := range h.slots {
		if len(h.slots[slot]) != 2 {
			t.Fatalf("slot %d has %d clients, want 2 of 64 in each", slot, len(h.slots[slot]))
		}
	}
	// A result in every cut: each client's one message holds the cuts since its last.
	now := time.Now()
	for tick := range 3 {
		for slot := range h.slotCount {
			at := int64(tick*100 + slot)
			h.cut([]ping.Result{result("A", "a1", at)}, slot, now)
		}
	}
	for _, c := range cs {
		var ats []int64
		var last uint64
		for _, m := range queued(t, c) {
			if m.Seq <= last {
				t.Fatalf("seq %d after %d", m.Seq, last)
			}
			last = m.Seq
			for _, it := range m.Items {
				ats = append(ats, it.At)
			}
		}
		// From the first cut after it joined to the last of its slot: nothing twice,
		// nothing skipped.
		for i := 1; i < len(ats); i++ {
			prev, cur := ats[i-1], ats[i]
			last := int64(h.slotCount - 1) // the last cut of a tick, then the next tick's first
			if !(cur == prev+1 || (prev%100 == last && cur == prev+100-last)) {
				t.Fatalf("client in slot %d: items %v have a gap or a repeat", c.slot, ats)
			}
		}
		if n := len(ats); n < 2*h.slotCount {
			t.Fatalf("client in slot %d got %d items, want at least %d", c.slot, n, 2*h.slotCount)
		}
	}
}

func TestHubClosesAClientThatFallsBehindWith4429(t *testing.T) {
	h := testHub(t, Options{MaxQueuedBytes: 300}) // three ticks of one small item
	slow := follower(h, "u1", "A")
	fast := follower(h, "u2", "A")
	now := time.Now()
	for i := range 4 {
		cutTick(h, []ping.Result{result("A", "a1", int64(i))}, now)
		queued(t, fast) // fast reads everything
	}
	slow.qmu.Lock()
	closing, code, queue := slow.closing, slow.code, len(slow.queue)
	slow.qmu.Unlock()
	if !closing || code != CloseTooSlow || queue != 0 {
		t.Fatalf("slow client: closing %v code %d queue %d; want closed with 4429 and nothing queued", closing, code, queue)
	}
	if n := testutil.ToFloat64(h.m.slow); n != 1 {
		t.Fatalf("slow disconnects = %v, want 1", n)
	}
	cutTick(h, []ping.Result{result("A", "a1", 9)}, now)
	if ms := queued(t, fast); len(ms) != 1 || ms[0].Items[0].At != 9 {
		t.Fatalf("the other client after the drop got %+v", ms)
	}
}

func TestHubReplaysExactlyWhatWasMissed(t *testing.T) {
	h := testHub(t, Options{ResumeWindow: 40 * cutEvery}) // 40 cuts
	c := follower(h, "u1", "A", "B")
	now := time.Now()
	for i := range 30 {
		h.cut([]ping.Result{result("A", "a1", int64(i)), result("B", "b1", int64(i))}, i%h.slotCount, now)
	}
	queued(t, c)

	h.mu.Lock()
	since := h.pos - 20
	ok := h.canReplay(h.token, since)
	h.mu.Unlock()
	if !ok {
		t.Fatal("20 cuts back is within a window of 40")
	}
	h.mu.Lock()
	h.replay(c, since)
	h.mu.Unlock()
	per := map[string][]int64{}
	var last uint64
	for _, m := range queued(t, c) {
		if m.Seq <= last || m.Seq > h.pos {
			t.Fatalf("replayed seq %d after %d (now %d)", m.Seq, last, h.pos)
		}
		last = m.Seq
		for _, it := range m.Items {
			per[it.G] = append(per[it.G], it.At)
		}
	}
	for _, g := range []string{"A", "B"} {
		if got := per[g]; len(got) != 20 || got[0] != 10 || got[19] != 29 {
			t.Fatalf("group %s replayed %v, want 10…29", g, got)
		}
	}
	if last != h.pos {
		t.Fatalf("replay ends at seq %d, want %d", last, h.pos)
	}
	// Live results go on after the replay without repeating it.
	h.cut([]ping.Result{result("A", "a1", 30)}, c.slot, now)
	if ms := queued(t, c); len(ms) != 1 || len(ms[0].Items) != 1 || ms[0].Items[0].At != 30 {
		t.Fatalf("after the replay: %+v", ms)
	}

	// Past the window, or with another server's token, there is no replay.
	for range 50 {
		h.cut([]ping.Result{result("A", "a1", 99)}, 0, now)
	}
	h.sweep()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.canReplay(h.token, since) || h.canReplay("other", h.pos) {
		t.Fatal("replay offered past the window or for another token")
	}
	if r := h.groups["A"].ring; len(r) != 40 || r[0].seq != h.seq-39 {
		t.Fatalf("group A keeps %d results from seq %d, want the window's 40 cuts", len(r), r[0].seq)
	}
}

func TestPublishHoldsResultsForTheNextCutAndCountsDrops(t *testing.T) {
	h := testHub(t, Options{PublishBuffer: 3})
	for i := range 5 {
		h.Publish(result("g1", "t1", int64(i)))
	}
	if n := testutil.ToFloat64(h.m.dropped); n != 2 {
		t.Fatalf("dropped %v of 5 with room for 3, want 2", n)
	}
	batch := h.in.take(nil)
	if len(batch) != 3 || batch[0].SentAt.UnixMilli() != 0 || batch[2].SentAt.UnixMilli() != 2 {
		t.Fatalf("next cut takes %v, want the first 3 in order", batch)
	}
	h.Publish(result("g1", "t1", 9)) // room again
	next := h.in.take(batch)
	if len(next) != 1 || next[0].SentAt.UnixMilli() != 9 {
		t.Fatalf("following cut takes %v", next)
	}
	if n := testutil.ToFloat64(h.m.dropped); n != 2 {
		t.Fatalf("dropped %v after the cut made room, want still 2", n)
	}
}
