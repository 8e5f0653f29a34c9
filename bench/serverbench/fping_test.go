//go:build linux

package main

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFpingSummarySumsItsLinesInAnyChunks(t *testing.T) {
	out := "\n127.64.0.1 : xmt/rcv/%loss = 25/25/0%, min/avg/max = 0.021/0.040/0.110\n" +
		"127.64.0.2 : xmt/rcv/%loss = 25/0/100%\n" +
		"127.64.0.3     : xmt/rcv/%loss = 24/23/4%, min/avg/max = 0.020/0.030/0.090\n" +
		"fping: not enough sequence numbers available! (expire_timeout=10000000, host_nr=5000, ping_count=1, seqmap_next_id=0)\n"
	for _, chunk := range []int{1, 7, len(out)} {
		var s fpingSummary
		for b := []byte(out); len(b) > 0; {
			n := min(chunk, len(b))
			if _, err := s.Write(b[:n]); err != nil {
				t.Fatal(err)
			}
			b = b[n:]
		}
		if s.Targets != 3 || s.Sent != 74 || s.Received != 48 {
			t.Errorf("chunks of %d: %d targets, %d sent, %d received; want 3, 74, 48", chunk, s.Targets, s.Sent, s.Received)
		}
		if !strings.HasPrefix(s.firstOther(), "fping: not enough sequence numbers") {
			t.Errorf("chunks of %d: first other line %q", chunk, s.firstOther())
		}
	}
}

func TestFpingArgs(t *testing.T) {
	o := options{n: 5000, interval: time.Second, warmup: 20 * time.Second, window: time.Minute}
	got := fpingArgs(o, "/tmp/t")
	want := []string{"-l", "-p", "1000", "-t", "1000", "-b", "56", "-Q", "3680", "-i", "0.1", "-f", "/tmp/t"}
	if !slices.Equal(got, want) {
		t.Errorf("fping %q, want %q", got, want)
	}
	fast := fpingArgs(options{n: 10, interval: 500 * time.Millisecond}, "/tmp/t")
	if !slices.Equal(fast[1:5], []string{"-p", "500", "-t", "500"}) || fast[10] != "25" {
		t.Errorf("at 2 Hz: %q; want the timeout no longer than the interval and -i 25", fast)
	}
	if lines := strings.Split(strings.TrimSuffix(string(targetList(300)), "\n"), "\n"); len(lines) != 300 ||
		lines[0] != "127.64.0.1" || lines[254] != "127.64.1.1" {
		t.Errorf("target list: %d lines, %q … %q", len(lines), lines[0], lines[254])
	}
}

// TestRunFpingOnLoopback runs the real fping on three loopback targets.
func TestRunFpingOnLoopback(t *testing.T) {
	if _, err := exec.LookPath("fping"); err != nil {
		t.Skip("fping is not installed (apt-get install -y fping)")
	}
	o := options{n: 3, interval: 200 * time.Millisecond, warmup: time.Second, window: 2 * time.Second}
	f, err := runFping(context.Background(), o, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if f.Window < 2*time.Second || f.CPU < 0 || f.CPU > 1 || f.PeakRSS <= 0 || !strings.HasPrefix(f.Version, "Version ") {
		t.Errorf("window %s, CPU %.3f, peak RSS %d, version %q", f.Window, f.CPU, f.PeakRSS, f.Version)
	}
	// 3 targets at 5 Hz for ≥ 3 s: about 45 probes, every one answered.
	if f.Summarised != 3 || f.Sent < 36 || f.Sent > 60 || f.Received != f.Sent {
		t.Errorf("summary of %d targets: %d sent, %d answered; want 3, about 45, all", f.Summarised, f.Sent, f.Received)
	}
}
