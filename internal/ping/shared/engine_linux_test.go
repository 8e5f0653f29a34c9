//go:build linux

package shared

import (
	"fmt"
	"net/netip"
	"os"
	"pingdeck/internal/ping"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// loopbackTargets are n targets on 127.<b>.x.y, all answered by the kernel.
func loopbackTargets(n int, b byte, interval, timeout time.Duration) []ping.Target {
	targets := make([]ping.Target, n)
	for i := range targets {
		addr := netip.AddrFrom4([4]byte{127, b, byte(i / 250), byte(i%250 + 1)})
		targets[i] = ping.Target{ID: fmt.Sprintf("lo-%d", i), GroupID: "loopback", Addr: addr,
			Interval: interval, Timeout: timeout, Size: 56}
	}
	return targets
}

// checkAllAnswered runs s on targets for d and checks what a user would see on a
// healthy network: every probe has exactly one result, none lost, RTTs small, and
// every reply credited to the target whose address sent it (by the kernel's source).
func checkAllAnswered(t *testing.T, s *Engine, targets []ping.Target, d time.Duration) {
	t.Helper()
	byID := map[string]ping.Target{}
	for _, tg := range targets {
		byID[tg.ID] = tg
	}
	var mu sync.Mutex
	var miscredited []string
	s.core.observe = func(id string, from netip.Addr) {
		if from != byID[id].Addr {
			mu.Lock()
			miscredited = append(miscredited, fmt.Sprintf("%s (%v) credited with a reply from %v", id, byID[id].Addr, from))
			mu.Unlock()
		}
	}
	log := &resultLog{}
	s.Update(targets)
	stop := runShared(t, s, log.emit)
	time.Sleep(d)
	stop()

	st := &s.core.stats
	results := log.snapshot()
	seen := map[string]bool{}
	var lost, slow int
	for _, r := range results {
		key := r.TargetID + "@" + r.SentAt.String()
		if seen[key] {
			t.Errorf("two results for one probe: %+v", r)
		}
		seen[key] = true
		switch {
		case !r.OK:
			lost++
			if lost <= 5 {
				t.Errorf("probe not answered: %+v", r)
			}
		// Loopback answers in microseconds; tens of milliseconds is the thread
		// losing its CPU between stamping and sending on a loaded machine.
		case r.RTT <= 0 || r.RTT >= 50*time.Millisecond:
			slow++
			if slow <= 5 {
				t.Errorf("RTT %v on loopback, want (0, 50ms): %+v", r.RTT, r)
			}
		}
	}
	// ±1 for where the run's edges fall; one or two fewer when a stall of the
	// process (a loaded machine) makes a target skip a send rather than burst.
	perTarget := int(d / targets[0].Interval)
	for _, tg := range targets {
		if n := len(log.byTarget()[tg.ID]); n < perTarget-3 || n > perTarget+1 {
			t.Errorf("%s: %d results in %v at %v, want %d (-3, +1)", tg.ID, n, d, tg.Interval, perTarget)
			break
		}
	}
	if got := st.Received.Load() + st.Lost.Load() + st.SendErrors.Load(); got != uint64(len(results)) {
		t.Errorf("%d results emitted, counters say %d: %v", len(results), got, statsOf(st))
	}
	if st.Sent.Load() != st.Received.Load()+st.Lost.Load()+st.Abandoned.Load() {
		t.Errorf("a probe went unreported: %v", statsOf(st))
	}
	if st.Late.Load()+st.Duplicate.Load() != 0 || len(miscredited) > 0 {
		t.Errorf("stray replies: %v; %v", statsOf(st), miscredited)
	}
	var rtts []time.Duration
	for _, r := range results {
		if r.OK {
			rtts = append(rtts, r.RTT)
		}
	}
	slices.Sort(rtts)
	if len(rtts) > 0 {
		t.Logf("RTT min %v p50 %v p99 %v max %v", rtts[0], rtts[len(rtts)/2], rtts[len(rtts)*99/100], rtts[len(rtts)-1])
	}
	t.Logf("%d targets, %v: %d results, %d lost, %d slow; %v", len(targets), d, len(results), lost, slow, statsOf(st))
}

// TestSharedLoopbackRaw: 200 targets on 127/8 every 200 ms for 3 s through one raw
// socket, as root on the host.
func TestSharedLoopbackRaw(t *testing.T) {
	requireRoot(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := New(Options{Mode: ping.ModePrivileged, Metrics: ping.NewMetrics(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Mode() != ping.ModePrivileged {
		t.Fatalf("mode %s, want privileged", s.Mode())
	}
	checkAllAnswered(t, s, loopbackTargets(200, 1, 200*time.Millisecond, time.Second), 3*time.Second)
}

// TestSharedLoopbackIPv6: one target on ::1 through the raw ICMPv6 socket.
func TestSharedLoopbackIPv6(t *testing.T) {
	requireRoot(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := New(Options{Mode: ping.ModePrivileged})
	if err != nil {
		t.Fatal(err)
	}
	if s.conns[1] == nil {
		for _, c := range s.conns {
			if c != nil {
				c.close()
			}
		}
		t.Skipf("no IPv6 on this host: %v", s.connErr[1])
	}
	target := ping.Target{ID: "v6", GroupID: "loopback", Addr: netip.IPv6Loopback(),
		Interval: 100 * time.Millisecond, Timeout: time.Second, Size: 100}
	checkAllAnswered(t, s, []ping.Target{target}, 2*time.Second)
}

// TestSharedAutoMode: auto takes datagram sockets when ping_group_range admits one of
// this process's groups, and raw sockets otherwise.
func TestSharedAutoMode(t *testing.T) {
	requireRoot(t)
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range s.conns {
		if c != nil {
			c.close()
		}
	}
	var lo, hi int
	if _, err := fmt.Sscan(hostPingGroupRange(t), &lo, &hi); err != nil {
		t.Fatal(err)
	}
	groups, _ := os.Getgroups()
	want := ping.ModePrivileged
	for _, g := range append(groups, os.Getgid()) {
		if lo <= g && g <= hi {
			want = ping.ModeUnprivileged
		}
	}
	if s.Mode() != want {
		t.Errorf("auto mode gave %s with ping_group_range %q, want %s", s.Mode(), hostPingGroupRange(t), want)
	}
}
