package live

import (
	"slices"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/ping"
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
