package ping_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

type sink struct {
	mu  sync.Mutex
	got []ping.Result
}

func (s *sink) add(r ping.Result) { s.mu.Lock(); s.got = append(s.got, r); s.mu.Unlock() }

// count returns how many results target id has reported.
func (s *sink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.got {
		if r.TargetID == id {
			n++
		}
	}
	return n
}

func (s *sink) last(id string) ping.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.got) - 1; i >= 0; i-- {
		if s.got[i].TargetID == id {
			return s.got[i]
		}
	}
	return ping.Result{}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storeGroup stores a group of owner probing addrs every 200 ms (literal IPs stored as
// resolved) and returns it with its targets.
func storeGroup(t *testing.T, st *store.Store, owner, name string, addrs ...string) *groups.Group {
	t.Helper()
	now := time.Now().UTC()
	g := &groups.Group{ID: uuid.NewString(), OwnerID: owner, Name: name, Visibility: groups.Private,
		Interval: 200 * time.Millisecond, Timeout: 500 * time.Millisecond, PacketSize: 56, CreatedAt: now, UpdatedAt: now}
	for _, a := range addrs {
		g.Targets = append(g.Targets, newTarget(a))
	}
	if _, err := st.CreateGroup(context.Background(), g, store.Quota{}); err != nil {
		t.Fatal(err)
	}
	return g
}

// newTarget is a target for addr, a literal IP stored as resolved.
func newTarget(addr string) groups.Target {
	tg := groups.Target{ID: uuid.NewString(), Address: addr, CreatedAt: time.Now().UTC()}
	tg.IP, _ = netip.ParseAddr(addr)
	return tg
}

// loopbackMode is the ICMP mode this machine allows; without one the test is skipped
// (and fails under CI, which must be able to probe loopback).
func loopbackMode(t *testing.T) ping.Mode {
	t.Helper()
	mode, err := ping.DetectMode(ping.ModeAuto)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return mode
}

// runScheduler runs sched until the returned stop is called, which waits for it and
// fails the test if it ended with an error.
func runScheduler(t *testing.T, sched *ping.Scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sched.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestSchedulerFollowsTheStore runs the scheduler over a real store and the pro-bing
// engine on loopback: stored targets are probed, hostnames resolved (and recorded),
// unresolvable names fail with a reason, and pausing, adding and deleting take effect
// as soon as the scheduler is told.
func TestSchedulerFollowsTheStore(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
	mode := loopbackMode(t)
	ctx := context.Background()
	var changes groups.Fanout
	st, owner := openStore(t, &changes)
	defer st.Close()
	g := storeGroup(t, st, owner, "lo", "127.0.0.1", "localhost", "no-such-host.invalid")
	// clock is another group's target whose answers mark time passing.
	clock := storeGroup(t, st, owner, "clock", "127.0.0.1")
	ip, host, bad, tick := g.Targets[0].ID, g.Targets[1].ID, g.Targets[2].ID, clock.Targets[0].ID

	probing, err := ping.NewProbing(mode, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	engine := newWatchedEngine(probing)
	var got sink
	sched := ping.NewScheduler(st, engine, ping.NewResolver(groups.TargetPolicy{}, nil), nil, got.add)
	changes.Subscribe(sched)
	defer runScheduler(t, sched)()

	eventually(t, "answered probes of 127.0.0.1 and localhost", func() bool {
		return got.last(ip).OK && got.last(host).OK
	})
	eventually(t, "a failed probe for the unresolvable name", func() bool { return got.count(bad) >= 2 })
	if r := got.last(bad); r.OK || !strings.Contains(r.Err, "no-such-host.invalid") {
		t.Fatalf("unresolvable target result = %+v, want a failure naming the host", r)
	}
	targets, _ := st.Targets(ctx, g.ID)
	if !targets[1].IP.IsValid() || !targets[1].IP.IsLoopback() {
		t.Fatalf("localhost's resolved address was not recorded: %+v", targets[1])
	}

	// quiet checks that, once the engine no longer has ids, they report at most the one
	// probe each that was in flight, while the clock answers three more times.
	quiet := func(what string, ids ...string) {
		t.Helper()
		engine.waitFor(t, what+": the engine stops probing them", func(set map[string]bool) bool {
			for _, id := range ids {
				if set[id] {
					return false
				}
			}
			return true
		})
		before := map[string]int{}
		for _, id := range ids {
			before[id] = got.count(id)
		}
		ticks := got.count(tick)
		eventually(t, "three more answers from the clock", func() bool { return got.count(tick) >= ticks+3 })
		for _, id := range ids {
			if n := got.count(id) - before[id]; n > 1 {
				t.Fatalf("%s: target reported %d more results after the engine dropped it, want at most the one in flight", what, n)
			}
		}
	}

	// Pausing a target in the store stops it: the store tells the scheduler.
	if err := st.SetTargetPaused(ctx, g.ID, ip, true); err != nil {
		t.Fatal(err)
	}
	quiet("paused target", ip)

	// Adding a target starts it.
	added := newTarget("127.0.0.3")
	if _, _, err := st.AddTargets(ctx, g.ID, []groups.Target{added}, store.Quota{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the added target answering", func() bool { return got.last(added.ID).OK })

	// Deleting the group stops everything in it.
	if err := st.DeleteGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	quiet("deleted group", added.ID, host, bad)
}

// TestSchedulerDoesNotWaitForDNS: a name whose lookup hangs does not hold up a change
// to what is probed; its answer is used as soon as it comes.
func TestSchedulerDoesNotWaitForDNS(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
	mode := loopbackMode(t)
	ctx := context.Background()
	var changes groups.Fanout
	st, owner := openStore(t, &changes)
	defer st.Close()
	g := storeGroup(t, st, owner, "dns", "slow.example")
	slow := g.Targets[0]
	asked := make(chan struct{})
	release := make(chan struct{})
	returned := make(chan struct{})
	lookup := func(ctx context.Context, host string) ([]netip.Addr, error) {
		close(asked)
		defer close(returned)
		select { // the DNS server answers only when the test says so
		case <-release:
			return []netip.Addr{netip.MustParseAddr("127.0.0.2")}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	engine, err := ping.NewProbing(mode, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got sink
	sched := ping.NewScheduler(st, engine, ping.NewResolver(groups.TargetPolicy{}, lookup), nil, got.add)
	changes.Subscribe(sched)
	defer runScheduler(t, sched)()
	<-asked // the lookup is hanging now

	added := newTarget("127.0.0.3")
	if _, _, err := st.AddTargets(ctx, g.ID, []groups.Target{added}, store.Quota{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the added target answering while the lookup hangs", func() bool { return got.last(added.ID).OK })
	select {
	case <-returned:
		t.Fatal("the change waited for the lookup to give up")
	default:
	}
	if n := got.count(slow.ID); n != 0 {
		t.Fatalf("a name still being looked up reported %d results, want none until it resolves", n)
	}

	close(release)
	eventually(t, "the slow name answering once resolved", func() bool { return got.last(slow.ID).OK })
	targets, _ := st.Targets(ctx, g.ID)
	for _, tg := range targets {
		if tg.ID == slow.ID && tg.IP != netip.MustParseAddr("127.0.0.2") {
			t.Fatalf("resolved address not recorded: %+v", tg)
		}
	}
}

// openStore opens a SQLite store that publishes its changes to changes, with one user
// (returned) to own groups.
func openStore(t *testing.T, changes *groups.Fanout) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db"), store.Options{Migrate: true, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	owner := uuid.NewString()
	if err := st.CreateUser(ctx, &auth.User{ID: owner, Username: "owner", PasswordHash: "x", CreatedAt: time.Now()}); err != nil {
		st.Close()
		t.Fatal(err)
	}
	return st, owner
}

// TestSchedulerKeepsToTheTargetPolicy: an address stored before a --deny-targets entry
// (or a newer rule) came in is not probed; it reports a failure saying why, and the
// other targets go on.
func TestSchedulerKeepsToTheTargetPolicy(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
	mode := loopbackMode(t)
	var changes groups.Fanout
	st, owner := openStore(t, &changes)
	defer st.Close()
	g := storeGroup(t, st, owner, "policy", "127.0.0.1", "127.0.0.2")
	allowed, denied := g.Targets[0], g.Targets[1]
	policy := groups.TargetPolicy{Deny: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}
	probing, err := ping.NewProbing(mode, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got sink
	sched := ping.NewScheduler(st, probing, ping.NewResolver(policy, nil), nil, got.add)
	changes.Subscribe(sched)
	defer runScheduler(t, sched)()

	eventually(t, "the allowed target answering and the denied one failing", func() bool {
		return got.last(allowed.ID).OK && got.count(denied.ID) >= 3
	})
	got.mu.Lock()
	defer got.mu.Unlock()
	for _, r := range got.got {
		if r.TargetID == denied.ID && (r.OK || !strings.Contains(r.Err, "127.0.0.2")) {
			t.Fatalf("a denied address was probed or failed without saying why: %+v", r)
		}
	}
}
