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
