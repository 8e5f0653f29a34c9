package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// startStreams runs a replica's Streams on its leases' connection.
func startStreams(t *testing.T, r *replica) *Streams {
	t.Helper()
	js, _ := jetstream.New(r.nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := OpenStreams(ctx, js, r.Leases, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	return s
}

func TestStreamCapHoldsAcrossReplicas(t *testing.T) {
	srv := natsServer(t)
	opt := Options{TTL: 2 * time.Second, Renew: 200 * time.Millisecond}
	a, b := startReplica(t, srv, "a", opt), startReplica(t, srv, "b", opt)
	sa, sb := startStreams(t, a), startStreams(t, b)
	waitSplit(t, []*replica{a, b}, 64, 5*time.Second)
	ctx := context.Background()
	const limit = 3
	for i, s := range []*Streams{sa, sa, sb} {
		if !s.Open(ctx, "alice", limit) {
			t.Fatalf("stream %d of %d refused", i+1, limit)
		}
	}
	if sb.Open(ctx, "alice", limit) || sa.Open(ctx, "alice", limit) {
		t.Fatal("a fourth stream opened across two replicas; the cap is 3")
	}
	if !sb.Open(ctx, "bob", limit) {
		t.Fatal("another user's stream refused")
	}

	// One closes on a: b may open one.
	sa.Close("alice")
	waitFor(t, 3*time.Second, "the close counted", func() bool { return sb.Open(ctx, "alice", limit) })

	// a is killed: its stream stops counting once its member key lapses.
	a.kill()
	waitFor(t, 10*time.Second, "the killed replica's streams no longer counted", func() bool { return sb.Open(ctx, "alice", limit) })
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting %s for %s", limit, what)
		}
	}
}
