//go:build linux

package shared

import (
	"context"
	"pingdeck/internal/ping"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSharedEngineDoesNotAllocate runs the whole engine (its goroutine, sleeps, real
// sockets, kernel timestamps, batched receives) on 200 loopback targets at 10 probes a
// second each and counts the process's heap allocations over a steady second. The
// runtime itself may make a few (a new thread when the engine sleeps in a system
// call, its own timer heap); one allocation per probe would make thousands.
func TestSharedEngineDoesNotAllocate(t *testing.T) {
	requireRoot(t)
	s, err := New(Options{Mode: ping.ModeAuto, Metrics: ping.NewMetrics(nil)})
	if err != nil {
		t.Fatal(err)
	}
	s.Update(loopbackTargets(200, 12, 100*time.Millisecond, 100*time.Millisecond))
	var answered, other atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Run(ctx, func(r ping.Result) {
			if r.OK {
				answered.Add(1)
			} else {
				other.Add(1)
			}
		}); err != nil {
			t.Error(err)
		}
	})
	defer func() { cancel(); wg.Wait() }()

	time.Sleep(500 * time.Millisecond) // every target's slot and ring set up
	runtime.GC()                       // starts the collector's workers, which allocate once
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	probes0 := answered.Load() + other.Load()
	time.Sleep(time.Second)
	runtime.ReadMemStats(&after)
	probes := answered.Load() + other.Load() - probes0
	if probes < 500 {
		t.Fatalf("only %d probes in the measured second (answered %d, other %d)", probes, answered.Load(), other.Load())
	}
	n := after.Mallocs - before.Mallocs
	t.Logf("%d heap allocations during %d probes", n, probes)
	if n > uint64(probes)/100 {
		t.Errorf("%d heap allocations during %d probes: the probe path allocates", n, probes)
	}
}
