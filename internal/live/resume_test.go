package live

import (
	"testing"
	"time"

	"pingdeck/internal/ping"
)

func TestHubKnowsWhichGroupsAResumingClientHad(t *testing.T) {
	h := testHub(t, Options{ResumeWindow: 40 * cutEvery})
	now := time.Now()
	old := follower(h, "alice", "A") // the socket that goes away
	h.cut([]ping.Result{result("A", "a1", 1)}, 0, now)
	since := h.seq // the last seq it saw
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
