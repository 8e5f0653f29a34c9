package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// natsServer starts an embedded NATS server with JetStream for the test.
func natsServer(t *testing.T) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{JetStream: true, StoreDir: filepath.Join(t.TempDir(), "js"), DontListen: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

// replica is one Leases running on its own connection, as a replica would.
type replica struct {
	*Leases
	nc   *nats.Conn
	stop context.CancelFunc
	done chan struct{}
}

func startReplica(t *testing.T, srv *server.Server, node string, opt Options) *replica {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	opt.Node = node
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := Open(ctx, js, opt)
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{Leases: l, nc: nc, done: make(chan struct{})}
	runCtx, stop := context.WithCancel(context.Background())
	r.stop = stop
	go func() {
		defer close(r.done)
		if err := l.Run(runCtx); err != nil {
			t.Errorf("Run %s: %v", node, err)
		}
	}()
	t.Cleanup(r.shutdown)
	return r
}

// shutdown stops the replica as a graceful exit does: it releases what it holds.
func (r *replica) shutdown() {
	r.stop()
	<-r.done
	r.nc.Close()
}

// kill stops the replica as kill -9 does: its connection goes first, so it releases
// nothing and its leases lapse.
func (r *replica) kill() {
	r.nc.Close()
	r.stop()
	<-r.done
}

// owners maps each shard to the replicas holding it now.
func owners(rs []*replica, shards int) [][]string {
	out := make([][]string, shards)
	for _, r := range rs {
		for _, s := range r.Shards() {
			out[s] = append(out[s], r.opt.Node)
		}
	}
	return out
}

// waitSplit waits until the live replicas hold every shard exactly once, each its
// fair share or one less; it fails the test if a shard is ever held by two.
func waitSplit(t *testing.T, live []*replica, shards int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	fair := (shards + len(live) - 1) / len(live)
	for {
		os := owners(live, shards)
		complete := true
		for s, o := range os {
			if len(o) > 1 {
				t.Fatalf("shard %d held by %v at once", s, o)
			}
			complete = complete && len(o) == 1
		}
		balanced := true
		for _, r := range live {
			n := len(r.Shards())
			balanced = balanced && n <= fair && n >= fair-len(live)
		}
		if complete && balanced {
			return time.Since(start)
		}
		if time.Since(start) > within {
			counts := map[string]int{}
			for _, r := range live {
				counts[r.opt.Node] = len(r.Shards())
			}
			t.Fatalf("no fair split of %d shards in %s: %v", shards, within, counts)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOneReplicaHoldsEveryShard(t *testing.T) {
	srv := natsServer(t)
	r := startReplica(t, srv, "a", Options{Tasks: []string{"housekeeping"}})
	waitSplit(t, []*replica{r}, 64, 5*time.Second)
	for range 100 {
		if id := uuid.NewString(); !r.OwnsTarget(id) {
			t.Fatalf("the only replica does not own target %s", id)
		}
	}
	if !r.Holds("housekeeping") {
		t.Fatal("the only replica does not hold the housekeeping task")
	}
}

func TestReplicasSplitShardsAndTakeOverFromOneKilled(t *testing.T) {
	srv := natsServer(t)
	var rs []*replica
	for _, n := range []string{"a", "b", "c"} {
		rs = append(rs, startReplica(t, srv, n, Options{Tasks: []string{"housekeeping"}}))
	}
	waitSplit(t, rs, 64, 10*time.Second)
	holders := 0
	for _, r := range rs {
		if r.Holds("housekeeping") {
			holders++
		}
	}
	if holders != 1 {
		t.Fatalf("%d replicas hold the housekeeping task, want 1", holders)
	}

	// Every target belongs to exactly one replica.
	for range 1000 {
		id := uuid.NewString()
		n := 0
		for _, r := range rs {
			if r.OwnsTarget(id) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("target %s owned by %d replicas", id, n)
		}
	}

	// kill -9 one: the others take its shards within 10 s.
	rs[1].kill()
	took := waitSplit(t, []*replica{rs[0], rs[2]}, 64, 10*time.Second)
	t.Logf("failover after a kill: %s", took)

	// It returns: it takes its share back, never holding a shard another holds.
	rs[1] = startReplica(t, srv, "b", Options{Tasks: []string{"housekeeping"}})
	back := waitSplit(t, rs, 64, 15*time.Second)
	t.Logf("share taken back in %s", back)
	if n := len(rs[1].Shards()); n < 64/3-2 {
		t.Fatalf("returning replica holds %d shards, want about %d", n, 64/3)
	}
}

func TestGracefulStopHandsOverAtOnce(t *testing.T) {
	srv := natsServer(t)
	a := startReplica(t, srv, "a", Options{})
	b := startReplica(t, srv, "b", Options{})
	waitSplit(t, []*replica{a, b}, 64, 10*time.Second)
	b.shutdown()
	took := waitSplit(t, []*replica{a}, 64, 3*time.Second)
	t.Logf("handover after a graceful stop: %s", took)
}

// TestHandoverNeverOverlaps samples which replica holds each shard while a third
// replica joins and leaves repeatedly: a shard is never held by two at once, and
// Changed is called before a shard is given away.
func TestHandoverNeverOverlaps(t *testing.T) {
	srv := natsServer(t)
	var mu sync.Mutex
	var events []string
	changed := func(node string) func() {
		return func() { mu.Lock(); events = append(events, node); mu.Unlock() }
	}
	opt := func(n string) Options {
		return Options{TTL: 2 * time.Second, Renew: 200 * time.Millisecond, Changed: changed(n)}
	}
	a := startReplica(t, srv, "a", opt("a"))
	b := startReplica(t, srv, "b", opt("b"))
	waitSplit(t, []*replica{a, b}, 64, 5*time.Second)
	for i := range 3 {
		c := startReplica(t, srv, fmt.Sprintf("c%d", i), opt("c"))
		waitSplit(t, []*replica{a, b, c}, 64, 8*time.Second)
		c.shutdown()
		waitSplit(t, []*replica{a, b}, 64, 3*time.Second)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(events, "a") || !slices.Contains(events, "c") {
		t.Fatalf("Changed not called on both sides of a handover: %v", events)
	}
}

func TestShardOfIsStableAndSpread(t *testing.T) {
	counts := make([]int, 64)
	for range 64000 {
		id := uuid.NewString()
		s := shardOf(id, 64)
		if s != shardOf(id, 64) {
			t.Fatal("shardOf is not stable")
		}
		counts[s]++
	}
	if lo, hi := slices.Min(counts), slices.Max(counts); lo < 800 || hi > 1200 {
		t.Fatalf("shards uneven: %d..%d targets of 1000 expected", lo, hi)
	}
}

func TestValidNode(t *testing.T) {
	for name, want := range map[string]bool{"pingdeck-1": true, "a_b": true, "": false, "a.b": false, "a b": false, "a*": false} {
		if ValidNode(name) != want {
			t.Errorf("ValidNode(%q) = %v, want %v", name, !want, want)
		}
	}
}

func TestOthersLiveSeesAnnouncedReplicas(t *testing.T) {
	srv := natsServer(t)
	a := startReplica(t, srv, "a", Options{})
	waitSplit(t, []*replica{a}, 64, 5*time.Second)
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	b, err := Open(context.Background(), js, Options{Node: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if others, err := b.OthersLive(context.Background()); err != nil || !slices.Equal(others, []string{"a"}) {
		t.Fatalf("OthersLive = %v, %v; want [a]", others, err)
	}
	a.shutdown() // a leaves: its announcement goes with it
	if others, err := b.OthersLive(context.Background()); err != nil || len(others) != 0 {
		t.Fatalf("OthersLive after a left = %v, %v; want none", others, err)
	}
}

// TestALeaseIsKeptThroughAnElectionOnlyWithAMajority: a lease that cannot be renewed
// is let go before it could lapse, unless this replica reaches most of the cluster
// (the bucket is electing a leader); then it is kept up to MaxUnrenewed.
func TestALeaseIsKeptThroughAnElectionOnlyWithAMajority(t *testing.T) {
	for _, tc := range []struct {
		name      string
		majority  func() bool
		unrenewed time.Duration
		letGo     bool
	}{
		{"renewed lately", nil, 2 * time.Second, false},
		{"could lapse soon, alone", nil, 4 * time.Second, true},
		{"could lapse soon, cut off", func() bool { return false }, 4 * time.Second, true},
		{"electing, with a majority", func() bool { return true }, 9 * time.Second, false},
		{"past the longest election", func() bool { return true }, 12 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Majority: tc.majority}
			o.defaults()
			l := &Leases{opt: o}
			majority := func() bool { return tc.majority != nil && tc.majority() }
			if got := l.mustLetGo(lease{renewed: time.Now().Add(-tc.unrenewed)}, majority); got != tc.letGo {
				t.Fatalf("unrenewed %s: let go %v, want %v", tc.unrenewed, got, tc.letGo)
			}
		})
	}
}
