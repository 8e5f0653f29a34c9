package agent

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"pingdeck/internal/bus"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openBus(t *testing.T) *bus.Bus {
	t.Helper()
	b, err := bus.Open(bus.Config{StoreDir: filepath.Join(t.TempDir(), "bus")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func msgs(t *testing.T, s jetstream.Stream) uint64 {
	t.Helper()
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestForwarderKeepsWhatTheServerDidNotTake: batches leave the agent's buffer only once
// the server's stream confirmed them; while it cannot take them they stay, and then
// arrive once each, in order, with their message IDs.
func TestForwarderKeepsWhatTheServerDidNotTake(t *testing.T) {
	ctx := context.Background()
	local, server := openBus(t), openBus(t)
	buffer, pending, err := local.OpenResults(ctx, bus.StreamLimits{MaxBytes: 64 << 20, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// The server cannot take results yet: no stream there (as when it is unreachable,
	// every publish fails).
	const n = 600
	js, _ := jetstream.New(local.Conn())
	group := "0f4c2a1e-9b7d-4c3e-8a51-2d6e0b9f7c10"
	for i := range n {
		m := &nats.Msg{Subject: bus.ResultSubject("fra", group), Data: []byte(fmt.Sprintf(`{"source":"s","before":%d,"results":[]}`, i)), Header: nats.Header{}}
		m.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("s-%d", i))
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	remote, err := jetstream.New(server.Conn(), jetstream.WithPublishAsyncMaxPending(forwardBatch*2))
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{from: pending, to: remote, nc: server.Conn(), log: slog.New(slog.DiscardHandler)}
	run, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { f.run(run) })
	defer func() { stop(); wg.Wait() }()

	time.Sleep(3 * time.Second) // several attempts fail
	if got := msgs(t, buffer); got != n {
		t.Fatalf("the buffer holds %d batches while the server takes none, want all %d", got, n)
	}

	stream, _, err := server.OpenResults(ctx, bus.StreamLimits{MaxBytes: 64 << 20, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the buffer to drain into the server's stream", func() bool { return msgs(t, buffer) == 0 })
	if got := msgs(t, stream); got != n {
		t.Fatalf("the server's stream holds %d batches, want %d (each once)", got, n)
	}
	// In order, with their IDs.
	for i := range uint64(n) {
		m, err := stream.GetMsg(ctx, i+1)
		if err != nil {
			t.Fatal(err)
		}
		if id := m.Header.Get(jetstream.MsgIDHeader); id != fmt.Sprintf("s-%d", i) {
			t.Fatalf("message %d has ID %q, want s-%d", i+1, id, i)
		}
	}
}
