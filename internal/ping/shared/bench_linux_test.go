//go:build linux

package shared

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"pingdeck/internal/ping"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSharedSendMatchLoopback is one probe's life through a real raw socket on
// 127.0.0.1: stamp, sendto, recvmsg with its kernel timestamp, match. It must not
// allocate.
func BenchmarkSharedSendMatchLoopback(b *testing.B) {
	requireRoot(b)
	const id = 0x7b01
	conn, err := openSharedSocket(false, true, id)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() { <-ctx.Done(); conn.close() }() // a lost reply cannot hang the benchmark
	clk := &fakeClock{t: sharedTestEpoch}
	core := newSharedCore(clk.now, testCookie, id, true, nil)
	target := ping.Target{ID: "bench", Addr: netip.MustParseAddr("127.0.0.1"), Interval: time.Second, Timeout: time.Second, Size: 56}
	core.update([]ping.Target{target})
	core.start([2]sharedConn{conn}, [2]error{}, func(ping.Result) {})
	defer core.stop()

	// The engine's clock moves one interval per round, so exactly one probe is due.
	// The reply's kernel timestamp is read and converted as always, then replaced by
	// that clock's time, which is the one the probe was stamped with.
	var ps [sharedBatch]sharedPacket
	b.ReportAllocs()
	for b.Loop() {
		clk.t = clk.t.Add(time.Second)
		core.runDue(clk.t)
		for want := core.stats.Received.Load() + 1; core.stats.Received.Load() < want; {
			n, err := conn.readBatch(ps[:], 128)
			if err != nil {
				b.Fatalf("receive: %v (stats %v)", err, statsOf(&core.stats))
			}
			for i := range n {
				ps[i].at = clk.t.Add(10 * time.Microsecond)
				core.receive(&ps[i])
			}
		}
	}
}

// BenchmarkSharedLoopback probes N loopback targets at 1 Hz for a few seconds and
// reports loss, RTT, steady-state allocations per probe and the process's CPU
// (user+system as % of one core; on loopback this includes the kernel answering).
// N is 1000 and 5000, or the list in PINGDECK_BENCH_TARGETS ("1000,20000"); the
// duration is PINGDECK_BENCH_SECONDS (default 5, at least 2). Each size runs once
// whatever b.N is.
func BenchmarkSharedLoopback(b *testing.B) {
	requireRoot(b)
	secs := 5
	if v, err := strconv.Atoi(os.Getenv("PINGDECK_BENCH_SECONDS")); err == nil && v >= 2 {
		secs = v
	}
	sizes := []int{1000, 5000}
	if v := os.Getenv("PINGDECK_BENCH_TARGETS"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 60000 {
				b.Fatalf("PINGDECK_BENCH_TARGETS: %q is not a target count (1–60000)", f)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) {
			benchmarkSharedLoopback(b, n, time.Duration(secs)*time.Second)
		})
	}
}

func benchmarkSharedLoopback(b *testing.B, n int, d time.Duration) {
	s, err := New(Options{Mode: ping.ModeAuto})
	if err != nil {
		b.Fatal(err)
	}
	s.Update(loopbackTargets(n, 10, time.Second, time.Second))
	var ok, lost, failed atomic.Int64
	rtts := make([]time.Duration, n*(int(d/time.Second)+2))
	emit := func(r ping.Result) {
		switch {
		case r.OK:
			if i := ok.Add(1) - 1; int(i) < len(rtts) {
				rtts[i] = r.RTT
			}
		case r.Err == ping.ErrTimeout:
			lost.Add(1)
		default:
			failed.Add(1)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	// Allocations are counted in steady state: from a second in (every slot set up)
	// to half a second before the end.
	var mem0, mem1 runtime.MemStats
	var probes0, probes1 int64
	results := func() int64 { return ok.Load() + lost.Load() + failed.Load() }
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		time.Sleep(time.Second)
		runtime.ReadMemStats(&mem0)
		probes0 = results()
		time.Sleep(d - time.Second - 500*time.Millisecond)
		runtime.ReadMemStats(&mem1)
		probes1 = results()
	}()
	before, start := rusageCPU(b), time.Now()
	if err := s.Run(ctx, emit); err != nil {
		b.Fatal(err)
	}
	wall, cpu := time.Since(start), rusageCPU(b)-before
	<-sampled

	total := ok.Load() + lost.Load() + failed.Load()
	if total == 0 {
		b.Fatal("no results")
	}
	got := slices.Clone(rtts[:min(int(ok.Load()), len(rtts))])
	slices.Sort(got)
	b.ReportMetric(float64(lost.Load()+failed.Load())*100/float64(total), "loss_%")
	b.ReportMetric(cpu.Seconds()*100/wall.Seconds(), "cpu_%")
	b.ReportMetric(float64(total)/wall.Seconds(), "probes/s")
	b.ReportMetric(float64(mem1.Mallocs-mem0.Mallocs)/float64(max(probes1-probes0, 1)), "allocs/probe")
	if len(got) > 0 {
		b.ReportMetric(float64(got[len(got)/2].Microseconds()), "rtt_p50_µs")
		b.ReportMetric(float64(got[len(got)*99/100].Microseconds()), "rtt_p99_µs")
	}
	b.Logf("mode %s, %d targets, %v: %d answered, %d lost, %d send errors; %v",
		s.Mode(), n, wall.Round(time.Millisecond), ok.Load(), lost.Load(), failed.Load(), statsOf(&s.core.stats))
}

func rusageCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
