//go:build linux

package main

import (
	"math"
	"testing"

	"pingdeck/bench/internal/storedonce"
	"pingdeck/internal/probeblock"
)

func TestStoredOnceNeedsEveryTargetAndAllRows(t *testing.T) {
	good := storedonce.Tally{Want: 5, Targets: 4}
	off := storedonce.Tally{Want: 5, Targets: 4, Off: 1, Missing: 1, Example: "127.64.0.2 has 4"}
	for _, tc := range []struct {
		name string
		s    storedOnce
		want bool
	}{
		{"all stored once", storedOnce{Checked: true, Tally: good, Rows: 100, Published: 100}, true},
		{"no bus metrics", storedOnce{Checked: true, Tally: good, Rows: 100, Published: math.NaN()}, true},
		{"a target off", storedOnce{Checked: true, Tally: off, Rows: 100, Published: 100}, false},
		{"rows ≠ published", storedOnce{Checked: true, Tally: good, Rows: 100, Published: 101}, false},
		{"not checked", storedOnce{Tally: good}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.ok(); got != tc.want {
				t.Errorf("ok = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCompareHours(t *testing.T) {
	const h = int64(3600e6)
	probes := map[hourKey]hourSums{{"a", 0}: {3600, 3590}, {"a", h}: {1200, 1200}, {"b", 0}: {3600, 3600}, {"c", 0}: {10, 9}}
	rollups := map[hourKey]hourSums{
		{"a", 0}: {3600, 3590}, // agrees
		{"a", h}: {1199, 1199}, // one probe short
		{"b", 0}: {3602, 3600}, // two beyond
		{"d", 0}: {5, 5},       // no probes at all
		// c's hour has no rollup
	}
	r := compareHours(probes, rollups)
	if !r.Checked || !r.HoursOnly || r.Buckets != 4 || r.HourOff != 4 || r.Missing != 1+10 || r.Extra != 2+5 || r.ok() {
		t.Errorf("got %+v; want 4 buckets, 4 off, 11 missing, 7 extra", r)
	}
	if r := compareHours(map[hourKey]hourSums{{"a", 0}: {60, 59}}, map[hourKey]hourSums{{"a", 0}: {60, 59}}); !r.ok() {
		t.Errorf("agreeing hours: %+v", r)
	}
}

func TestProbeHours(t *testing.T) {
	const h = int64(3600e6)
	hours, n, err := probeHours(func(f func(string, []probeblock.Probe)) error {
		f("a", []probeblock.Probe{{SentUs: h - 1, Status: probeblock.Answered}, {SentUs: h, Status: probeblock.Lost}, {SentUs: h + 5, Status: probeblock.Answered}})
		f("b", []probeblock.Probe{{SentUs: 7, Status: probeblock.Unsent}})
		return nil
	})
	if err != nil || n != 4 {
		t.Fatalf("%d probes, %v", n, err)
	}
	want := map[hourKey]hourSums{{"a", 0}: {1, 1}, {"a", h}: {2, 1}, {"b", 0}: {1, 0}}
	if len(hours) != len(want) {
		t.Fatalf("hours %v, want %v", hours, want)
	}
	for k, v := range want {
		if hours[k] != v {
			t.Errorf("%v = %v, want %v", k, hours[k], v)
		}
	}
}
