//go:build linux

package main

import (
	"testing"
	"time"

	"pingdeck/internal/ping"
)

func TestWindowsWithin(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 300e6, time.UTC)
	w := windowsWithin(start, start.Add(20*time.Second), time.Second)
	if want := time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC); !w.base.Equal(want) || w.k != 19 {
		t.Fatalf("base %s k %d, want %s and 19", w.base, w.k, want)
	}
	on := windowsWithin(start.Truncate(time.Second), start.Add(10*time.Second), time.Second)
	if !on.base.Equal(start.Truncate(time.Second)) || on.k != 10 {
		t.Errorf("a start on a boundary: base %s k %d", on.base, on.k)
	}
	for _, id := range []string{"0b6f4f8e-1111-4c7e-9a8b-000000000001", "0b6f4f8e-1111-4c7e-9a8b-000000000002"} {
		from, to := w.of(id)
		if to.Sub(from) != 19*time.Second {
			t.Errorf("%s: window %s long", id, to.Sub(from))
		}
		// Every send of this target falls at base + phase + whole seconds: the edges are
		// half an interval away from the nearest.
		send := w.base.Add(ping.Phase(id, time.Second))
		if d := send.Sub(from); d != 500*time.Millisecond {
			t.Errorf("%s: first send %s after the window opens, want 500ms", id, d)
		}
	}
}

func TestTally(t *testing.T) {
	targets := []target{{"a", "127.64.0.1"}, {"b", "127.64.0.2"}, {"c", "127.64.0.3"}, {"d", "127.64.0.4"}}
	s := tally(targets, map[string]int64{"a": 20, "b": 18, "c": 21}, 20) // d has none
	if s.Off != 3 || s.Missing != 2+20 || s.Extra != 1 || s.Targets != 4 || s.Example != "127.64.0.2 has 18" {
		t.Errorf("got %+v", s)
	}
	s.Published, s.Rows = 100, 100
	if s.ok() {
		t.Error("off targets pass")
	}
	good := tally(targets, map[string]int64{"a": 5, "b": 5, "c": 5, "d": 5}, 5)
	good.Rows, good.Published = 100, 100
	if !good.ok() {
		t.Errorf("%+v does not pass", good)
	}
	good.Published = 101
	if good.ok() {
		t.Error("rows ≠ published passes")
	}
}
