package live

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/live/livetest"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestQueueBoundCountsEveryKindOfMessage: a client that sends and never reads is closed
// with 4429 once what waits for it passes MaxQueuedBytes, with no results at all
// in its queue: only the pongs and errors its own messages asked for.
func TestQueueBoundCountsEveryKindOfMessage(t *testing.T) {
	s := newScene(t, Options{MaxQueuedBytes: 256 << 10, InboundBurst: 1 << 20, InboundPerSecond: 1 << 20}, 0)
	// The peer keeps its default receive buffer: one shrunk below what it has
	// advertised drops the server's segments and their ACKs, and its own sending stalls.
	conn := s.mustDial(s.viewer, dialOptions{})
	s.serverSide(s.viewer).setWriteBuffer(t, 8<<10)
	// Pongs and errors, megabytes of them, while the peer reads nothing.
	sent := 0
	for ; sent < 100000 && testutil.ToFloat64(s.hub.m.slow) == 0; sent++ {
		m := map[string]any{"type": "ping"}
		if sent%2 == 1 {
			m = map[string]any{"type": "dance"}
		}
		if err := conn.WriteJSON(m); err != nil {
			break // the server has closed the connection
		}
	}
	for deadline := time.Now().Add(10 * time.Second); testutil.ToFloat64(s.hub.m.slow) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages asking for answers, none read, and the socket is not closed for being slow", sent)
		}
	}
	if code := closeCode(t, conn, 10*time.Second); code != CloseTooSlow {
		t.Fatalf("closed with %d after %d unanswered messages, want 4429", code, sent)
	}
	if n := testutil.ToFloat64(s.hub.m.messages[kindResults]); n != 0 {
		t.Fatalf("%v results messages were sent; the test wants none", n)
	}
}

// TestSlowReaderIsClosedWith4429 is the slow reader of the hardening issue: it reads
// (about 500 KB/s) but less than its groups' results, and its backlog reaches the bound
// in seconds, not after the 10 s write deadline of one blocked write.
func TestSlowReaderIsClosedWith4429(t *testing.T) {
	s := newScene(t, Options{MaxQueuedBytes: 1 << 20}, 2000)
	conn := s.mustDial(s.viewer, dialOptions{recvBuf: 16 << 10})
	s.serverSide(s.viewer).setWriteBuffer(t, 16<<10)
	send(t, conn, map[string]any{"type": "subscribe", "groups": []string{s.group.ID}})
	stop := make(chan struct{})
	published := make(chan struct{})
	go func() { // ~2,000 results every 200 ms: about 1.3 MB/s of results messages
		defer close(published)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				s.publish(s.group, now)
			}
		}
	}()
	defer func() { close(stop); <-published }()
	start := time.Now()
	read := 0
	var buf []byte
	for {
		var err error
		buf, err = conn.ReadInto(buf, start.Add(15*time.Second))
		if err != nil {
			var ce *livetest.CloseError
			if !errors.As(err, &ce) || ce.Code != CloseTooSlow {
				t.Fatalf("after %s and %d KB read: %v, want close 4429", time.Since(start), read>>10, err)
			}
			break
		}
		read += len(buf)
		time.Sleep(time.Duration(len(buf)) * time.Second / 500_000) // reading at 500 KB/s
	}
	t.Logf("closed with 4429 after %s, %d KB read", time.Since(start).Round(time.Millisecond), read>>10)
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("the slow reader was closed only after %s", d)
	}
}

// TestRepeatedResumeAndSubscribeQueueOneSnapshotPerGroup: asking for the same snapshots
// again and again (resume with a made-up token, subscribe to a group already followed)
// while one waits queues nothing more; once it is written, one more may be asked for.
func TestRepeatedResumeAndSubscribeQueueOneSnapshotPerGroup(t *testing.T) {
	s := newScene(t, Options{}, 500)
	other := s.makeGroup(s.owner.ID, "other", 10, time.Now())
	c := newClient(s.hub, nil, Viewer{UserID: s.viewer.ID, Username: "viewer"}) // no writer: the queue stays
	s.hub.mu.Lock()
	s.hub.clients[c] = struct{}{}
	s.hub.joinSlot(c)
	s.hub.mu.Unlock()
	for range 50 {
		s.hub.subscribe(c, []string{s.group.ID, other.ID})
		s.hub.resume(c, "made-up", 1)
	}
	waiting := func() map[string]int {
		c.qmu.Lock()
		defer c.qmu.Unlock()
		n := map[string]int{}
		for _, o := range c.queue {
			n[o.group]++
		}
		return n
	}
	if got := waiting(); got[s.group.ID] != 1 || got[other.ID] != 1 || len(got) != 2 {
		t.Fatalf("after 50 subscribes and 50 resumes the queue holds %v; want one snapshot of each group", got)
	}
	if q := c.queuedBytes(); q > 2*groupMessageBytes {
		t.Fatalf("%d bytes queued for two snapshots not built yet", q)
	}
	// The writer gets to the first: it is built then, with the group's 500 targets.
	built, ok := s.hub.takeGroupMessage(c, s.group.ID)
	if !ok || built.kind != kindSnapshot || !bytes.Contains(bytes.Join(built.parts, nil), []byte(s.group.Targets[499].ID)) {
		t.Fatalf("the queued snapshot built as %v %q", ok, bytes.Join(built.parts, nil)[:min(80, built.size())])
	}
	if _, again := s.hub.takeGroupMessage(c, s.group.ID); again {
		t.Fatal("one queued snapshot was built twice")
	}
	s.hub.resume(c, "made-up", 1)
	if got := waiting(); got[s.group.ID] != 2 || got[other.ID] != 1 {
		t.Fatalf("a resume after the snapshot went out queues %v; want one more of that group only", got)
	}
}

// TestErrorsEchoAtMostAPrefix: what the client sent comes back in an error cut to a
// short, quoted prefix, whatever its size.
func TestErrorsEchoAtMostAPrefix(t *testing.T) {
	s := newScene(t, Options{}, 0)
	conn := s.mustDial(s.viewer, dialOptions{})
	long := strings.Repeat("A", 250<<10)
	send(t, conn, map[string]any{"type": long})
	m := readMsg(t, conn)
	if m.Type != "error" || len(m.Raw) > 300 || !strings.Contains(m.Message, `"`+strings.Repeat("A", echoPrefix)+`"…`) {
		t.Fatalf("a 250 KB type came back as %d bytes: %.300s", len(m.Raw), m.Raw)
	}
	missing := uuid.NewString()
	send(t, conn, map[string]any{"type": "subscribe", "groups": []string{strings.Repeat("é", 5000), missing}})
	for _, want := range []string{strings.Repeat("é", echoPrefix/2), missing} {
		if m := readMsg(t, conn); m.Type != "error" || m.Code != "not_found" || m.ID != want {
			t.Fatalf("subscribe to an unknown group answered %.300s; want not_found with id %q", m.Raw, want)
		}
	}
	if err := conn.WriteText([]byte(`{"type":` + strings.Repeat("[", 200<<10))); err != nil {
		t.Fatal(err)
	}
	if m := readMsg(t, conn); m.Type != "error" || len(m.Raw) > 300 {
		t.Fatalf("bad JSON came back as %d bytes: %.300s", len(m.Raw), m.Raw)
	}
}

// TestInboundFloodIsClosedWith1008: a client sending faster than the limit is closed
// with 1008 (policy), after the answers to what it sent within the limit.
func TestInboundFloodIsClosedWith1008(t *testing.T) {
	s := newScene(t, Options{InboundBurst: 20, InboundPerSecond: 5}, 0)
	conn := s.mustDial(s.viewer, dialOptions{})
	for range 200 {
		if err := conn.WriteJSON(map[string]any{"type": "resume", "token": "made-up", "since": 1}); err != nil {
			break
		}
	}
	if code := closeCode(t, conn, 10*time.Second); code != livetest.ClosePolicyViolation {
		t.Fatalf("a flood of 200 messages was closed with %d, want 1008", code)
	}
}

// TestBinaryMessageIsClosedWith1003: the stream takes JSON text only.
func TestBinaryMessageIsClosedWith1003(t *testing.T) {
	s := newScene(t, Options{}, 0)
	conn := s.mustDial(s.viewer, dialOptions{})
	if err := conn.WriteBinary([]byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if code := closeCode(t, conn, 10*time.Second); code != livetest.CloseUnsupportedData {
		t.Fatalf("a binary message was answered with close %d, want 1003", code)
	}
}

// TestStreamsPerUserAreCappedExactly: of many handshakes at once, exactly
// MaxStreamsPerUser succeed and the rest are refused before the upgrade; closing one
// makes room for one more; another user is not affected.
func TestStreamsPerUserAreCappedExactly(t *testing.T) {
	const limit, tries = 5, 40
	s := newScene(t, Options{MaxStreamsPerUser: limit}, 0)
	var (
		mu      sync.Mutex
		opened  []*livetest.Conn
		refused int
		wg      sync.WaitGroup
	)
	for range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, resp, err := s.dial(s.viewer, dialOptions{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				opened = append(opened, conn)
			case resp != nil && resp.StatusCode == http.StatusTooManyRequests:
				refused++
			default:
				t.Errorf("dial: %v", err)
			}
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range opened {
			c.Close()
		}
	}()
	if len(opened) != limit || refused != tries-limit {
		t.Fatalf("%d handshakes at once: %d opened, %d refused; want %d and %d", tries, len(opened), refused, limit, tries-limit)
	}
	if n := testutil.ToFloat64(s.hub.m.refused); n != tries-limit {
		t.Fatalf("refusals counted %v, want %d", n, tries-limit)
	}
	s.mustDial(s.owner, dialOptions{}) // another user still gets in
	opened[0].Close()
	opened = opened[1:]
	deadline := time.Now().Add(5 * time.Second)
	for { // the server notices the close, then one more may open
		conn, _, err := s.dial(s.viewer, dialOptions{})
		if err == nil {
			opened = append(opened, conn)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing one of %d streams, a new one is still refused: %v", limit, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, resp, err := s.dial(s.viewer, dialOptions{}); err == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("one past the limit again: %v, want 429", err)
	}
}

// TestDashboardStreamFollowsAtMostMaxGroups: a user whose dashboard has more groups
// than one socket may follow gets the first maxGroupsPerClient of them and an error
// saying so, not a snapshot of every one.
func TestDashboardStreamFollowsAtMostMaxGroups(t *testing.T) {
	s := newScene(t, Options{}, 0)
	const n = maxGroupsPerClient + 5
	start := time.Now().Add(-time.Hour)
	var ids []string
	for i := range n - 1 { // the scene's own group is the owner's first
		ids = append(ids, s.makeGroup(s.owner.ID, "g", 0, start.Add(time.Duration(i)*time.Millisecond)).ID)
	}
	conn := s.mustDial(s.owner, dialOptions{})
	want := map[string]bool{} // the oldest: the scene's group is the newest
	for _, id := range ids[:maxGroupsPerClient] {
		want[id] = true
	}
	m := readMsg(t, conn)
	if m.Type != "error" || !strings.Contains(m.Message, "1005 groups") || !strings.Contains(m.Message, "first 1000") {
		t.Fatalf("after hello: %s; want an error saying only the first 1000 of 1005 groups are followed", m.Raw)
	}
	got := map[string]bool{}
	for len(got) < maxGroupsPerClient {
		m := readMsg(t, conn)
		if m.Type != "snapshot" || !want[m.Group.ID] || got[m.Group.ID] {
			t.Fatalf("snapshot %d: %.200s; want one of the dashboard's first 1000 groups, each once", len(got)+1, m.Raw)
		}
		got[m.Group.ID] = true
	}
	send(t, conn, map[string]any{"type": "ping"})
	if m := readMsg(t, conn); m.Type != "pong" {
		t.Fatalf("after 1000 snapshots: %.200s, want only the pong", m.Raw)
	}
}
