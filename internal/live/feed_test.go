package live

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// recordingFeed notes which groups the hub follows.
type recordingFeed struct {
	mu        sync.Mutex
	following map[string]bool
	calls     []string
}

func (f *recordingFeed) Follow(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.following == nil {
		f.following = map[string]bool{}
	}
	f.following[id] = true
	f.calls = append(f.calls, "follow "+id)
	return nil
}

func (f *recordingFeed) Unfollow(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.following, id)
	f.calls = append(f.calls, "unfollow "+id)
}

func (f *recordingFeed) followed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id := range f.following {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// TestHubFollowsTheGroupsItsSocketsFollow: the feed is asked for a group's results
// when its first socket follows it, once however many do, and the subscription is
// dropped (and the group's state forgotten) once no socket follows it, open or
// resumable.
func TestHubFollowsTheGroupsItsSocketsFollow(t *testing.T) {
	feed := &recordingFeed{}
	h := testHub(t, Options{Feed: feed, ResumeWindow: 40 * cutEvery})
	c1 := follower(h, "u1", "A", "B")
	c2 := follower(h, "u2", "B")
	if got := feed.followed(); !slices.Equal(got, []string{"A", "B"}) {
		t.Fatalf("following %v, want [A B]", got)
	}
	if n := len(feed.calls); n != 2 {
		t.Fatalf("feed calls %v: B followed twice", feed.calls)
	}
	now := time.Now()
	cutTick(h, []ping.Result{result("A", "a1", 1), result("B", "b1", 1)}, now)

	h.mu.Lock()
	h.drop(c1, "A") // u1 unsubscribes from A: nobody follows it
	h.mu.Unlock()
	h.sweep()
	if got := feed.followed(); !slices.Equal(got, []string{"B"}) {
		t.Fatalf("after A lost its only follower: following %v, want [B]", got)
	}
	h.mu.Lock()
	_, kept := h.groups["A"]
	h.mu.Unlock()
	if kept {
		t.Fatal("the state of a group nobody follows is kept: it would go stale")
	}

	// A socket that closes may resume within the window: its groups stay followed.
	c1.started = true
	h.unregister(c1)
	h.unregister(c2)
	h.sweep()
	if got := feed.followed(); !slices.Equal(got, []string{"B"}) {
		t.Fatalf("within the resume window: following %v, want [B]", got)
	}
	for i := range 50 { // past the window
		h.cut([]ping.Result{result("B", "b1", int64(2+i))}, 0, now)
	}
	h.sweep()
	if got := feed.followed(); len(got) != 0 {
		t.Fatalf("past the resume window, nobody follows anything: still following %v", got)
	}

	// A group deleted is unfollowed at once.
	c3 := follower(h, "u3", "C")
	_ = c3
	h.GroupDeleted("C")
	if got := feed.followed(); len(got) != 0 {
		t.Fatalf("after C was deleted: following %v", got)
	}
}

// storedGroup is a Store with one group, owned by "owner", and its stored results.
type storedGroup struct {
	noStore
	group  *groups.Group
	stored []ping.Result
	asked  int // RecentResults calls
}

func (s *storedGroup) GroupsByID(_ context.Context, ids []string, _ string) (map[string]store.GroupWithRole, error) {
	g := *s.group
	g.Targets = nil
	return map[string]store.GroupWithRole{g.ID: {Group: &g}}, nil
}

func (s *storedGroup) TargetsOfGroups(context.Context, []string) (map[string][]groups.Target, error) {
	return map[string][]groups.Target{s.group.ID: s.group.Targets}, nil
}

func (s *storedGroup) RecentResults(_ context.Context, ids []string, since time.Time, limit int) ([]ping.Result, error) {
	s.asked++
	var out []ping.Result
	for _, r := range s.stored {
		if !r.SentAt.Before(since) && slices.Contains(ids, r.TargetID) {
			out = append(out, r)
		}
	}
	return out, nil
}

// TestAGroupFollowedAnewStartsFromItsStoredResults: the hub reads the last minute of a
// group it starts to follow from the database, so the first snapshot has the recent
// samples and the minute's loss, not an empty card; a group it follows already is not
// read again.
func TestAGroupFollowedAnewStartsFromItsStoredResults(t *testing.T) {
	now := time.Now()
	st := &storedGroup{group: &groups.Group{ID: "G", OwnerID: "owner", Interval: time.Second, Targets: []groups.Target{{ID: "t1"}, {ID: "t2"}}}}
	for i := range 90 { // 90 s of results; a minute's worth is read
		at := now.Add(-time.Duration(90-i) * time.Second)
		st.stored = append(st.stored, ping.Result{TargetID: "t1", SentAt: at, OK: i%4 != 0, RTT: time.Millisecond},
			ping.Result{TargetID: "t2", SentAt: at, Err: "no such host"})
	}
	h, err := NewHub(Options{Store: st, Credentials: noStore{}, Feed: &recordingFeed{}})
	if err != nil {
		t.Fatal(err)
	}
	v := &Viewer{UserID: "owner"}
	follow := func() {
		grants, denied, err := h.resolve(context.Background(), v, []string{"G"})
		if err != nil || len(denied) > 0 {
			t.Fatalf("resolve: %v, denied %v", err, denied)
		}
		c := newClient(h, nil, *v)
		h.mu.Lock()
		h.follow(c, grants, false)
		h.mu.Unlock()
	}
	follow()
	h.mu.Lock()
	t1, t2 := h.groups["G"].targets[targetKey{"t1", "local"}], h.groups["G"].targets[targetKey{"t2", "local"}]
	loss, ok := t1.loss1m(now)
	last, _ := t1.last()
	h.mu.Unlock()
	if t1.n < recentSamples-1 || !ok || loss < 0.2 || loss > 0.3 {
		t.Fatalf("t1 starts with %d samples and loss %.2f (%v), want a minute's (%d) and about 0.25", t1.n, loss, ok, recentSamples)
	}
	if last.at != st.stored[178].SentAt.UnixMilli() {
		t.Fatalf("t1's newest sample is at %d, want the newest stored", last.at)
	}
	if t2 == nil || t2.unsent != "no such host" {
		t.Fatalf("t2 starts as %+v: want its stored reason, a probe that never left", t2)
	}
	follow()
	if st.asked != 1 {
		t.Fatalf("stored results read %d times: a group already followed is not read again", st.asked)
	}
}
