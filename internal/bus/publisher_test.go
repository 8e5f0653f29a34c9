package bus

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"pingdeck/internal/ping"
)

// TestUnconfirmedBatchesArePublishedAgain: batches published while the stream cannot
// confirm them (here: it does not exist yet; in a cluster: its leader is changing)
// are published again until it does, and reach the stream; the live feed, which had
// them the first time, does not get them twice.
func TestUnconfirmedBatchesArePublishedAgain(t *testing.T) {
	b, _ := open(t, Config{})
	m := NewResultMetrics(nil)
	p, err := b.NewResultPublisher(PublisherOptions{Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	group := uuid.NewString()
	feed := b.NewResultFeed(1024)
	if err := feed.Follow(group); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	live := 0
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		feed.Run(ctx, func(rs []ping.Result) { mu.Lock(); live += len(rs); mu.Unlock() })
	})
	wg.Go(func() { p.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	target := uuid.NewString()
	start := time.Now()
	for i := range 10 {
		p.Submit(ping.Result{TargetID: target, GroupID: group, SentAt: start.Add(time.Duration(i) * time.Second), OK: true, RTT: time.Millisecond})
		time.Sleep(30 * time.Millisecond)
	}
	time.Sleep(time.Second) // unconfirmed: no stream
	setup, done := context.WithTimeout(context.Background(), 30*time.Second)
	defer done()
	s, _, err := b.OpenResults(setup, StreamLimits{MaxBytes: 1 << 20, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var stored uint64
	// An unconfirmed publish fails when its 10 s wait ends, then goes again.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if stored = countResults(t, setup, s); stored == 10 {
			break
		}
	}
	if stored != 10 {
		t.Fatalf("the stream holds %d of the 10 results published while it could not confirm them", stored)
	}
	mu.Lock()
	defer mu.Unlock()
	if live != 10 {
		t.Fatalf("the live feed got %d results, want each of the 10 once", live)
	}
}

// countResults is how many results the stream's batches hold, read without
// consuming them.
func countResults(t *testing.T, ctx context.Context, s jetstream.Stream) uint64 {
	t.Helper()
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		msg, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		got, err := DecodeResults(msg.Subject, msg.Data)
		if err != nil {
			t.Fatal(err)
		}
		n += uint64(len(got.Results))
	}
	return n
}
