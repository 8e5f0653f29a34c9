//go:build linux

package pingtest

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// These tests need neither root nor a namespace.

func TestDroppedPattern(t *testing.T) {
	for _, tc := range []struct {
		loss  float64
		n     uint64
		want  int
		every uint64 // if set, exactly every k-th is dropped
	}{
		{0, 100, 0, 0}, {-1, 100, 0, 0}, {1, 100, 100, 1}, {2, 10, 10, 1},
		{0.25, 400, 100, 4}, {0.5, 100, 50, 2}, {0.1, 1000, 100, 10},
		{1.0 / 3, 999, 333, 3}, {0.01, 1000, 10, 100}, {0.3, 1000, 300, 0},
	} {
		got := 0
		for k := uint64(1); k <= tc.n; k++ {
			d := dropped(tc.loss, k)
			if d {
				got++
			}
			if tc.every > 0 && d != (k%tc.every == 0) {
				t.Errorf("loss %v: request %d dropped=%v", tc.loss, k, d)
				break
			}
		}
		if got != tc.want {
			t.Errorf("loss %v: %d of %d dropped, want %d", tc.loss, got, tc.n, tc.want)
		}
	}
}

func TestSchedulerOrder(t *testing.T) {
	var mu sync.Mutex
	var got []int
	var at []time.Duration
	start := time.Now()
	s := newScheduler(func(r reply) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, int(r.msg[0]))
		at = append(at, time.Since(start))
	})
	done := make(chan struct{})
	go func() { defer close(done); s.run() }()
	// Added out of order; 3 and 4 are due together and must keep their order.
	for _, x := range []struct {
		id    byte
		delay time.Duration
	}{{5, 30 * time.Millisecond}, {1, 5 * time.Millisecond}, {3, 20 * time.Millisecond}, {4, 20 * time.Millisecond}, {2, 10 * time.Millisecond}} {
		s.add(start.Add(x.delay), reply{msg: []byte{x.id}})
	}
	s.add(start.Add(time.Hour), reply{msg: []byte{9}}) // dropped by close
	time.Sleep(60 * time.Millisecond)
	s.close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if want := []int{1, 2, 3, 4, 5}; len(got) != len(want) || got[0] != 1 || got[1] != 2 || got[2] != 3 || got[3] != 4 || got[4] != 5 {
		t.Fatalf("sent %v, want %v", got, want)
	}
	for i, d := range []time.Duration{5, 10, 20, 20, 30} {
		if late := at[i] - d*time.Millisecond; late < 0 || late > 50*time.Millisecond {
			t.Errorf("reply %d sent at %v, due at %vms", got[i], at[i], d)
		}
	}
}

func TestChecksum(t *testing.T) {
	// Echo request, id 1, seq 1, payload "abc": a hand-checked vector.
	msg := []byte{8, 0, 0, 0, 0, 1, 0, 1, 'a', 'b', 'c'}
	if got := checksum(msg); got != 0x339b {
		t.Errorf("checksum = %#04x, want 0x339b", got)
	}
	msg[2], msg[3] = 0x33, 0x9b
	if got := checksum(msg); got != 0 {
		t.Errorf("checksum over a checksummed message = %#04x, want 0", got)
	}
}

func TestNormalize(t *testing.T) {
	var o Options
	if err := o.normalize(); err != nil {
		t.Fatal(err)
	}
	if o.Prefix4.String() != "198.18.0.0/16" || o.Prefix6.String() != "fd00:198:18::/64" {
		t.Errorf("defaults %v %v", o.Prefix4, o.Prefix6)
	}
	for _, bad := range []Options{
		{Prefix4: netip.MustParsePrefix("fd00::/64")},
		{Prefix6: netip.MustParsePrefix("10.0.0.0/8")},
		{Blackhole: []netip.Prefix{{}}},
	} {
		if err := bad.normalize(); err == nil {
			t.Errorf("normalize(%+v) accepted", bad)
		}
	}
}
