//go:build linux

package main

import (
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name     string
		rtts     []time.Duration
		p50, p99 time.Duration
	}{
		{"empty", nil, 0, 0},
		{"one", []time.Duration{42 * time.Microsecond}, 42 * time.Microsecond, 42 * time.Microsecond},
		// 1..100 µs: nearest rank p50 is the 50th value, p99 the 99th.
		{"1 to 100 µs", seqMicros(1, 100), 50500 * time.Nanosecond, 99500 * time.Nanosecond},
		// 10 µs buckets between 1 and 10 ms.
		{"milliseconds", []time.Duration{2003 * time.Microsecond, 2004 * time.Microsecond, 5 * time.Millisecond},
			2005 * time.Microsecond, 5 * time.Millisecond},
		// Above a second: the maximum, not a bucket bound.
		{"overflow", []time.Duration{3 * time.Second}, 3 * time.Second, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h rttHistogram
			for _, d := range tt.rtts {
				h.add(d)
			}
			p := h.percentiles()
			if p.P50 != tt.p50 || p.P99 != tt.p99 || p.N != int64(len(tt.rtts)) {
				t.Errorf("percentiles = %+v, want n %d p50 %v p99 %v", p, len(tt.rtts), tt.p50, tt.p99)
			}
		})
	}
}

func seqMicros(from, to int) []time.Duration {
	var out []time.Duration
	for i := from; i <= to; i++ {
		out = append(out, time.Duration(i)*time.Microsecond+500*time.Nanosecond)
	}
	return out
}

func TestBucketsAreOrderedAndContainTheirValues(t *testing.T) {
	for i := 1; i < numBuckets; i++ {
		if bucketValue(i) <= bucketValue(i-1) {
			t.Fatalf("bucket %d value %v not above bucket %d's %v", i, bucketValue(i), i-1, bucketValue(i-1))
		}
		if i < overflowIdx && bucketOf(bucketValue(i)) != i {
			t.Fatalf("bucket %d: its value %v falls in bucket %d", i, bucketValue(i), bucketOf(bucketValue(i)))
		}
	}
}

func TestCollectorCountsOnlyTheWindow(t *testing.T) {
	start := time.Unix(1000, 0)
	c := newCollector(window{Start: start, End: start.Add(10 * time.Second)})
	c.add(start.Add(-time.Millisecond), true, time.Millisecond, "", true) // warm-up
	c.add(start, true, 20*time.Microsecond, "", true)
	c.add(start.Add(time.Second), false, 0, "timeout", false)
	c.add(start.Add(2*time.Second), false, 0, "send: no buffer space", false)
	c.add(start.Add(3*time.Second), false, 0, "send: again", false)
	c.add(start.Add(4*time.Second), true, 40*time.Microsecond, "", false) // not sampled by the sniffer
	c.add(start.Add(10*time.Second), true, time.Millisecond, "", true)    // after the window
	got := c.result()
	if got.Probes != 5 || got.OK != 2 || got.Lost != 1 || got.Failed != 2 {
		t.Errorf("stats = %+v, want 5 probes: 2 ok, 1 lost, 2 failed", got)
	}
	if got.RTT.N != 2 || got.SampledRTT.N != 1 || got.SampledRTT.Max != 20*time.Microsecond {
		t.Errorf("RTT %+v, sampled %+v: want 2 RTTs, of which the sampled target's 20 µs", got.RTT, got.SampledRTT)
	}
	if got.FirstErr != "send: no buffer space" {
		t.Errorf("FirstErr = %q", got.FirstErr)
	}
	if got.lossPct() != 60 {
		t.Errorf("loss = %v%%, want 60%%", got.lossPct())
	}
}

func TestLoopbackTargets(t *testing.T) {
	targets, err := loopbackTargets(20000, time.Second, time.Second, 56)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tg := range targets {
		a := tg.Addr
		if !a.IsLoopback() || a.As4()[3] == 0 || a.As4()[3] == 255 {
			t.Fatalf("target %s: want a loopback host address", a)
		}
		if seen[a.String()] {
			t.Fatalf("target %s twice", a)
		}
		seen[a.String()] = true
	}
	if first, last := targets[0].Addr.String(), targets[len(targets)-1].Addr.String(); first != "127.1.0.1" || last != "127.1.78.188" {
		t.Errorf("targets span %s…%s", first, last)
	}
	for _, n := range []int{0, maxTargets + 1} {
		if _, err := loopbackTargets(n, time.Second, time.Second, 56); err == nil {
			t.Errorf("loopbackTargets(%d): no error", n)
		}
	}
	if _, err := loopbackTargets(10000, time.Millisecond, time.Second, 56); err == nil {
		t.Error("10,000 targets every 1 ms: no error for 10 M probes/s")
	}
}
