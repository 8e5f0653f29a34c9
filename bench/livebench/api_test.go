//go:build linux

package main

import (
	"math"
	"testing"
	"time"
)

func TestParseStealReadsTheEighthValueOfTheCPULine(t *testing.T) {
	stat := "cpu  58284 3733 9471 134626 638 0 2613 128 0 0\ncpu0 28959 1867 4484 67944 52 0 1291 64 0 0\n"
	if got := parseSteal(stat); got != 128 {
		t.Fatalf("parseSteal = %d, want 128", got)
	}
	for _, bad := range []string{"", "intr 1 2 3\n", "cpu 1 2 3\n", "cpu 1 2 3 4 5 6 7 x 0 0\n"} {
		if got := parseSteal(bad); got != -1 {
			t.Errorf("parseSteal(%q) = %d, want -1", bad, got)
		}
	}
	if got := stealTicks(); got < 0 {
		t.Errorf("stealTicks on this machine = %d, want a reading", got)
	}
}

func TestStealPercentIsAShareOfAllCPUsTime(t *testing.T) {
	// 50 ticks = 0.5 s of steal over 10 s of 2 CPUs = 2.5 %.
	if got := stealPercent(100, 150, 10*time.Second, 2); math.Abs(got-2.5) > 1e-9 {
		t.Fatalf("stealPercent = %v, want 2.5", got)
	}
	for _, c := range []struct{ a, b int64 }{{-1, 150}, {100, -1}} {
		if got := stealPercent(c.a, c.b, time.Second, 2); !math.IsNaN(got) {
			t.Errorf("stealPercent(%d, %d) = %v, want NaN (unknown)", c.a, c.b, got)
		}
	}
}

func TestParseStatCPUAddsUserAndSystemTime(t *testing.T) {
	// utime 250 and stime 50 ticks; the command name holds a space and a ") ".
	stat := "4242 (lb x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 123 0 0"
	if got, want := parseStatCPU(stat), 3*time.Second; got != want {
		t.Fatalf("parseStatCPU = %s, want %s", got, want)
	}
	if got := parseStatCPU("garbage"); got != 0 {
		t.Fatalf("parseStatCPU of garbage = %s, want 0", got)
	}
}
