package shared

import (
	"context"
	"errors"
	"fmt"
	"pingdeck/internal/ping"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

// resultLog collects results from the engine's goroutines.
type resultLog struct {
	mu      sync.Mutex
	results []ping.Result
}

func (l *resultLog) emit(r ping.Result) {
	l.mu.Lock()
	l.results = append(l.results, r)
	l.mu.Unlock()
}

func (l *resultLog) snapshot() []ping.Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ping.Result(nil), l.results...)
}

func (l *resultLog) byTarget() map[string][]ping.Result {
	out := map[string][]ping.Result{}
	for _, r := range l.snapshot() {
		out[r.TargetID] = append(out[r.TargetID], r)
	}
	return out
}

// runShared runs s until the returned stop is called; stop waits for Run to return
// and fails the test on its error.
func runShared(t *testing.T, s *Engine, emit func(ping.Result)) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, emit) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return within 5 s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestSharedRunFake runs the whole engine (scheduling goroutine, readers, Update while
// running, shutdown) against echoing fake sockets, twice in a row.
func TestSharedRunFake(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var conns []*fakeSharedConn
	var mu sync.Mutex
	open := func(v6 bool) (sharedConn, error) {
		mu.Lock()
		defer mu.Unlock()
		c := newFakeSharedConn(true)
		c.rewriteID = 4242 // as a datagram socket would
		conns = append(conns, c)
		return c, nil
	}
	metrics := ping.NewMetrics(nil)
	s := newShared(Options{Metrics: metrics}, ping.ModeUnprivileged, 99, open)
	const interval = 50 * time.Millisecond
	var targets []ping.Target
	for i := range 5 {
		targets = append(targets, testTarget(fmt.Sprint("t", i), fmt.Sprintf("198.18.0.%d", i+1), interval, interval))
	}
	targets = append(targets, testTarget("v6", "2001:db8::1", interval, interval))
	s.Update(targets)

	for round := range 2 {
		log := &resultLog{}
		stop := runShared(t, s, log.emit)
		time.Sleep(10 * interval)
		s.Update(targets[1:]) // t0 stops
		removedAt := time.Now()
		time.Sleep(5 * interval)
		stop()

		got := log.byTarget()
		for _, tg := range targets[1:] {
			rs := got[tg.ID]
			if len(rs) < 10 {
				t.Errorf("round %d: %s: %d results in 15 intervals", round, tg.ID, len(rs))
			}
			for _, r := range rs {
				if !r.OK || r.RTT <= 0 || r.RTT > interval {
					t.Errorf("round %d: %s: %+v, want answered", round, tg.ID, r)
					break
				}
			}
		}
		for _, r := range got["t0"] {
			if r.SentAt.After(removedAt) {
				t.Errorf("round %d: t0 probed at %v, after its removal at %v", round, r.SentAt, removedAt)
			}
		}
	}
	st := &s.core.stats
	for name, c := range map[string]struct{ metric, stat float64 }{
		"sent":     {testutil.ToFloat64(metrics.Sent.WithLabelValues("shared")), float64(st.Sent.Load())},
		"received": {testutil.ToFloat64(metrics.Received.WithLabelValues("shared")), float64(st.Received.Load())},
		"lost":     {testutil.ToFloat64(metrics.Lost.WithLabelValues("shared")), float64(st.Lost.Load())},
	} {
		if c.metric != c.stat || name == "sent" && c.metric < 100 {
			t.Errorf("%s: metric %v, engine counted %v", name, c.metric, c.stat)
		}
	}
	if g := testutil.ToFloat64(metrics.Targets.WithLabelValues("shared")); g != 0 {
		t.Errorf("targets gauge %v after Run ended, want 0", g)
	}
	if len(conns) != 4 {
		t.Errorf("opened %d sockets in two runs, want 4 (one per family per run)", len(conns))
	}
}

// TestSharedRunOpenFails: Run reports that it cannot open any socket, and Run while
// running is refused.
func TestSharedRunOpenFails(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	denied := errors.New("permission denied")
	s := newShared(Options{}, ping.ModePrivileged, 1, func(bool) (sharedConn, error) { return nil, denied })
	if err := s.Run(context.Background(), func(ping.Result) {}); !errors.Is(err, denied) {
		t.Errorf("Run without sockets: %v, want %v", err, denied)
	}

	s = newShared(Options{}, ping.ModePrivileged, 1, func(bool) (sharedConn, error) { return newFakeSharedConn(true), nil })
	stop := runShared(t, s, func(ping.Result) {})
	deadline := time.Now().Add(time.Second)
	for {
		s.mu.Lock()
		running := s.running
		s.mu.Unlock()
		if running || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Run(context.Background(), func(ping.Result) {}); err == nil {
		t.Error("a second Run while running succeeded")
	}
	stop()
}
