//go:build linux

package main

import (
	"math"
	"testing"

	"pingdeck/bench/internal/storedonce"
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
