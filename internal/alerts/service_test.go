package alerts

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"pingdeck/internal/bus"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
	"pingdeck/internal/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memEvents keeps recorded events; fail makes the next records fail.
type memEvents struct {
	mu   sync.Mutex
	evs  []store.TargetEvent
	fail bool
}

func (m *memEvents) RecordEvents(_ context.Context, evs []store.TargetEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return context.DeadlineExceeded
	}
	m.evs = append(m.evs, evs...)
	return nil
}

func (m *memEvents) tos() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, len(m.evs))
	for i, e := range m.evs {
		out[i] = e.Location + ":" + e.To
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestServiceRecordsChangesFromTheBus: results published on the bus (here from an
// agent's location) become state changes in the store; the database being away
// delays them; the location going offline makes its targets unknown.
func TestServiceRecordsChangesFromTheBus(t *testing.T) {
	b, err := bus.Open(bus.Config{StoreDir: filepath.Join(t.TempDir(), "bus")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	if _, _, err := b.OpenResults(ctx, bus.StreamLimits{MaxBytes: 1 << 20, MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	pub, err := b.NewResultPublisher(bus.PublisherOptions{Location: "fra", FlushEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	st := &memEvents{fail: true}
	svc := NewService(b.Conn(), st, nil, nil)
	run, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { svc.Run(run) })
	wg.Go(func() { pub.Run(run) })
	defer func() { stop(); wg.Wait() }()
	time.Sleep(100 * time.Millisecond) // the service subscribes

	target, group := "4d7f2c1e-6a3b-4e5f-9c8d-1b2a3c4d5e6f", "0f4c2a1e-9b7d-4c3e-8a51-2d6e0b9f7c10"
	at := time.Now().Add(-time.Minute)
	for i := range 5 {
		pub.Submit(ping.Result{TargetID: target, GroupID: group, SentAt: at.Add(time.Duration(i) * time.Second), OK: true, RTT: time.Millisecond})
	}
	time.Sleep(1500 * time.Millisecond) // a save fails: the change waits
	if got := st.tos(); len(got) != 0 {
		t.Fatalf("recorded while the store fails: %v", got)
	}
	st.mu.Lock()
	st.fail = false
	st.mu.Unlock()
	waitFor(t, "up recorded", func() bool { got := st.tos(); return len(got) == 1 && got[0] == "fra:up" })

	svc.LocationsChanged([]wire.Location{{Name: "local", Online: true}, {Name: "fra", Online: false}})
	waitFor(t, "unknown recorded", func() bool { got := st.tos(); return len(got) == 2 && got[1] == "fra:unknown" })
	if e := st.evs[1]; e.GroupID != group || e.From != "up" {
		t.Fatalf("the offline change: %+v", e)
	}
}
