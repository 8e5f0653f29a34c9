//go:build linux

package shared

import (
	"errors"
	"net/netip"
	"pingdeck/internal/ping"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// newSharedIn creates the engine from a thread inside ns, so its sockets belong there.
func newSharedIn(t *testing.T, ns *testNetns, opts Options, before func() error) (*Engine, error) {
	t.Helper()
	var s *Engine
	var err error
	ns.do(t, func() error {
		if before != nil {
			if err := before(); err != nil {
				return err
			}
		}
		s, err = New(opts)
		return nil
	})
	return s, err
}

// TestSharedUnprivileged: with ping_group_range opened inside a namespace of its own,
// the engine uses datagram sockets (the kernel sets their ICMP id) and still credits
// every reply to the right target.
func TestSharedUnprivileged(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	hostRange := hostPingGroupRange(t)
	ns := newTestNetns(t)
	ns.setPingGroupRange(t, "0 2147483647")
	s, err := newSharedIn(t, ns, Options{Mode: ping.ModeAuto}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Mode() != ping.ModeUnprivileged {
		t.Fatalf("mode %s with ping_group_range open, want unprivileged", s.Mode())
	}
	targets := loopbackTargets(50, 3, 200*time.Millisecond, time.Second)
	targets[0].Addr = netip.MustParseAddr("127.0.0.1")
	checkAllAnswered(t, s, targets, 3*time.Second)
	if got := hostPingGroupRange(t); got != hostRange {
		t.Errorf("host ping_group_range changed from %q to %q", hostRange, got)
	}
}

// TestSharedNoPermission: when neither mode is allowed, New says exactly what
// to change.
func TestSharedNoPermission(t *testing.T) {
	ns := newTestNetns(t) // a new namespace starts with ping_group_range "1 0"
	sysctlFix := `sysctl -w net.ipv4.ping_group_range="0 2147483647"`
	for _, tc := range []struct {
		name    string
		mode    ping.Mode
		dropRaw bool
		want    []string
	}{
		{"auto, neither allowed", ping.ModeAuto, true, []string{sysctlFix, "setcap cap_net_raw+ep "}},
		{"unprivileged not allowed", ping.ModeUnprivileged, false, []string{sysctlFix, "--icmp-mode"}},
		{"privileged without CAP_NET_RAW", ping.ModePrivileged, true, []string{"setcap cap_net_raw+ep ", "--icmp-mode"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before func() error
			if tc.dropRaw {
				before = dropNetRaw
			}
			s, err := newSharedIn(t, ns, Options{Mode: tc.mode}, before)
			if err == nil {
				t.Fatalf("New succeeded in mode %s", s.Mode())
			}
			if !errors.Is(err, ping.ErrNoICMP) {
				t.Errorf("error %q does not match ErrNoICMP", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			t.Log(err)
		})
	}
}

// TestSharedBlackhole: a target behind a blackhole route is never reported up, in
// either mode: its probes are lost or refused.
func TestSharedBlackhole(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ns := newTestNetns(t)
	ns.ip(t, "route", "add", "blackhole", "198.18.0.0/24")
	ns.setPingGroupRange(t, "0 2147483647")
	for _, mode := range []ping.Mode{ping.ModeUnprivileged, ping.ModePrivileged} {
		t.Run(string(mode), func(t *testing.T) {
			s, err := newSharedIn(t, ns, Options{Mode: mode}, nil)
			if err != nil {
				t.Fatal(err)
			}
			dark := ping.Target{ID: "dark", Addr: netip.MustParseAddr("198.18.0.1"), Interval: 100 * time.Millisecond, Timeout: 200 * time.Millisecond, Size: 56}
			alive := ping.Target{ID: "alive", Addr: netip.MustParseAddr("127.0.0.1"), Interval: 100 * time.Millisecond, Timeout: 200 * time.Millisecond, Size: 56}
			s.Update([]ping.Target{dark, alive})
			log := &resultLog{}
			stop := runShared(t, s, log.emit)
			time.Sleep(time.Second)
			stop()
			got := log.byTarget()
			if len(got["dark"]) < 5 {
				t.Fatalf("%d results for the blackholed target in 10 intervals", len(got["dark"]))
			}
			for _, r := range got["dark"] {
				if r.OK || r.Err != ping.ErrTimeout && !strings.HasPrefix(r.Err, "send: ") {
					t.Errorf("blackholed target: %+v, want a timeout or a send error", r)
				}
			}
			for _, r := range got["alive"] {
				if !r.OK {
					t.Errorf("loopback target next to it: %+v", r)
				}
			}
			t.Logf("blackholed target: first result %+v", got["dark"][0])
		})
	}
}
