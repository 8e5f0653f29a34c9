package ping_test

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// watchedEngine is an engine whose target sets the test can wait for. With inner set
// it probes through inner; without, it only keeps the set (the scheduler's bookkeeping
// is what is tested then).
type watchedEngine struct {
	inner ping.Engine
	mu    sync.Mutex
	set   map[string]ping.Target
	calls int
	wake  chan struct{}
}

func newWatchedEngine(inner ping.Engine) *watchedEngine {
	return &watchedEngine{inner: inner, set: map[string]ping.Target{}, wake: make(chan struct{}, 1)}
}

func (e *watchedEngine) Name() string { return "watched" }

func (e *watchedEngine) Update(ts []ping.Target) {
	if e.inner != nil {
		e.inner.Update(ts)
	}
	set := make(map[string]ping.Target, len(ts))
	for _, t := range ts {
		set[t.ID] = t
	}
	e.mu.Lock()
	e.set, e.calls = set, e.calls+1
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *watchedEngine) Run(ctx context.Context, emit func(ping.Result)) error {
	if e.inner != nil {
		return e.inner.Run(ctx, emit)
	}
	<-ctx.Done()
	return nil
}

// waitFor waits until the engine's set (target IDs) satisfies cond, checking after
// every Update, for at most 5 s.
func (e *watchedEngine) waitFor(t *testing.T, what string, cond func(set map[string]bool) bool) {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		e.mu.Lock()
		ids := make(map[string]bool, len(e.set))
		for id := range e.set {
			ids[id] = true
		}
		e.mu.Unlock()
		if cond(ids) {
			return
		}
		select {
		case <-e.wake:
		case <-deadline.C:
			t.Fatalf("timed out waiting for: %s; the engine has %v", what, slices.Sorted(maps.Keys(ids)))
		}
	}
}

// countingSource is the store, counting the scheduler's reads.
type countingSource struct {
	*store.Store
	mu      sync.Mutex
	all     int
	ofGroup map[string]int
}

func (s *countingSource) ActiveTargets(ctx context.Context) ([]ping.Desired, error) {
	s.mu.Lock()
	s.all++
	s.mu.Unlock()
	return s.Store.ActiveTargets(ctx)
}

func (s *countingSource) ActiveTargetsOfGroup(ctx context.Context, id string) ([]ping.Desired, error) {
	s.mu.Lock()
	s.ofGroup[id]++
	s.mu.Unlock()
	return s.Store.ActiveTargetsOfGroup(ctx, id)
}

// reads returns the full reads and the reads per group so far, and forgets them.
func (s *countingSource) reads() (int, map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, of := s.all, s.ofGroup
	s.all, s.ofGroup = 0, map[string]int{}
	return all, of
}

var _ ping.Source = (*countingSource)(nil)
var _ groups.Subscriber = (*ping.Scheduler)(nil)

// TestSchedulerAppliesTheChangeItIsTold: a committed change to one group makes the
// scheduler re-read that group only (not every active target), and the engine's set
// follows adds, pauses (of a target and of a group), resumes and deletes; changes that
// do not touch what is probed read nothing.
func TestSchedulerAppliesTheChangeItIsTold(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
	ctx := context.Background()
	var changes groups.Fanout
	st, owner := openStore(t, &changes)
	defer st.Close()
	now := time.Now().UTC()
	target := func(addr string) groups.Target {
		return groups.Target{ID: uuid.NewString(), Address: addr, IP: netip.MustParseAddr(addr), CreatedAt: now}
	}
	group := func(name string, ts ...groups.Target) *groups.Group {
		g := &groups.Group{ID: uuid.NewString(), OwnerID: owner, Name: name, Visibility: groups.Private,
			Interval: time.Second, Timeout: time.Second, PacketSize: 56, CreatedAt: now, UpdatedAt: now, Targets: ts}
		if _, err := st.CreateGroup(ctx, g, store.Quota{}); err != nil {
			t.Fatal(err)
		}
		return g
	}
	a := group("a", target("192.0.2.1"), target("192.0.2.2"))
	b := group("b", target("192.0.2.3"))
	a1, a2, b1 := a.Targets[0].ID, a.Targets[1].ID, b.Targets[0].ID

	src := &countingSource{Store: st, ofGroup: map[string]int{}}
	engine := newWatchedEngine(nil)
	sched := ping.NewScheduler(src, engine, ping.NewResolver(groups.TargetPolicy{}, nil), nil)
	changes.Subscribe(sched)
	defer runScheduler(t, sched)()
	has := func(want ...string) func(map[string]bool) bool {
		return func(set map[string]bool) bool {
			return len(set) == len(want) && !slices.ContainsFunc(want, func(id string) bool { return !set[id] })
		}
	}
	engine.waitFor(t, "the stored targets", has(a1, a2, b1))
	started := time.Now()
	src.reads()

	// step makes a change and checks the engine's set and which groups were re-read.
	step := func(what string, change func() error, wantReads map[string]int, want ...string) {
		t.Helper()
		if err := change(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		engine.waitFor(t, what, has(want...))
		all, of := src.reads()
		// The periodic resync (every 10 s) is the one full read allowed.
		if all > int(time.Since(started)/(10*time.Second)) {
			t.Fatalf("%s: re-read every active target %d times, want only the changed group", what, all)
		}
		if !maps.Equal(of, wantReads) {
			t.Fatalf("%s: re-read groups %v, want %v", what, of, wantReads)
		}
	}
	added := target("192.0.2.4")
	step("add a target to a", func() error {
		_, _, err := st.AddTargets(ctx, a.ID, []groups.Target{added}, store.Quota{})
		return err
	}, map[string]int{a.ID: 1}, a1, a2, b1, added.ID)
	step("pause a target of a", func() error { return st.SetTargetPaused(ctx, a.ID, a1, true) },
		map[string]int{a.ID: 1}, a2, b1, added.ID)
	b.Paused = true
	step("pause group b", func() error { return st.UpdateGroup(ctx, b) }, map[string]int{b.ID: 1}, a2, added.ID)
	// A pin changes no probing: it reads nothing. The resume after it shows that the
	// scheduler has handled it (changes are applied in order).
	step("pin a, then resume a's target", func() error {
		if err := st.PutPin(ctx, owner, a.ID, now); err != nil {
			return err
		}
		return st.SetTargetPaused(ctx, a.ID, a1, false)
	}, map[string]int{a.ID: 1}, a1, a2, added.ID)
	step("delete group a", func() error { return st.DeleteGroup(ctx, a.ID) }, map[string]int{})
	b.Paused = false
	step("resume group b", func() error { return st.UpdateGroup(ctx, b) }, map[string]int{b.ID: 1}, b1)
}
