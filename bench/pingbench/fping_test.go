//go:build linux

package main

import (
	"slices"
	"testing"
	"time"
)

func TestParseFpingLine(t *testing.T) {
	at := time.Unix(1700000000, 123450000)
	tests := []struct {
		name string
		line string
		want fpingLine
		ok   bool
	}{
		{"reply", "[1700000000.12345] 127.1.0.1 : [3], 64 bytes, 0.045 ms (0.040 avg, 0% loss)",
			fpingLine{Host: "127.1.0.1", Seq: 3, At: at, OK: true, RTT: 45 * time.Microsecond}, true},
		{"padded host", "[1700000000.12345] 127.1.0.1    : [12], 64 bytes, 1.50 ms (1.20 avg, 0% loss)",
			fpingLine{Host: "127.1.0.1", Seq: 12, At: at, OK: true, RTT: 1500 * time.Microsecond}, true},
		{"timeout", "[1700000000.12345] 127.1.0.9 : [4], timed out (0.040 avg, 20% loss)",
			fpingLine{Host: "127.1.0.9", Seq: 4, At: at}, true},
		{"timeout never answered", "[1700000000.12345] 127.1.0.9 : [0], timed out (NaN avg, 100% loss)",
			fpingLine{Host: "127.1.0.9", Seq: 0, At: at}, true},
		{"no timestamp", "127.1.0.1 : [3], 64 bytes, 0.045 ms (0.040 avg, 0% loss)", fpingLine{}, false},
		{"summary", "127.1.0.1 : xmt/rcv/%loss = 20/20/0%, min/avg/max = 0.02/0.04/0.09", fpingLine{}, false},
		{"error", "fping error: not enough sequence numbers available! (expire_timeout=10000000000, host_nr=3, ping_count=1, seqmap_next_id=0)", fpingLine{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseFpingLine(tt.line)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			// -D prints 5 decimals: compare to 10 µs.
			if d := got.At.Sub(tt.want.At); d < -10*time.Microsecond || d > 10*time.Microsecond {
				t.Errorf("At = %v, want %v", got.At, tt.want.At)
			}
			got.At = tt.want.At
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFpingLineSentAt(t *testing.T) {
	at := time.Unix(1000, 0)
	reply := fpingLine{At: at, OK: true, RTT: 50 * time.Microsecond}
	if got, want := reply.sentAt(time.Second), at.Add(-50*time.Microsecond); !got.Equal(want) {
		t.Errorf("reply sent at %v, want %v", got, want)
	}
	lost := fpingLine{At: at}
	if got, want := lost.sentAt(time.Second), at.Add(-time.Second); !got.Equal(want) {
		t.Errorf("timeout sent at %v, want %v", got, want)
	}
}

// fping's default gap between sends (10 ms) would cap it at 100 probes/s; the gap
// must leave room for every target's period.
func TestFpingArgsKeepUpWithTheSchedule(t *testing.T) {
	cfg := cellConfig{N: 5000, Interval: time.Second, Timeout: time.Second, Size: 56}
	args := fpingArgs(cfg, "/tmp/targets")
	want := []string{"-l", "-p", "1000", "-t", "1000", "-b", "56", "-e", "-D", "-i", "0.1", "-f", "/tmp/targets"}
	if !slices.Equal(args, want) {
		t.Errorf("fpingArgs = %q, want %q", args, want)
	}
}
