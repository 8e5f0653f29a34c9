package storedonce

import (
	"testing"
	"time"

	"pingdeck/internal/ping"
)

func TestWithin(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 300e6, time.UTC)
	w := Within(start, start.Add(20*time.Second), time.Second)
	if want := time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC); !w.Base.Equal(want) || w.K != 19 {
		t.Fatalf("base %s k %d, want %s and 19", w.Base, w.K, want)
	}
	on := Within(start.Truncate(time.Second), start.Add(10*time.Second), time.Second)
	if !on.Base.Equal(start.Truncate(time.Second)) || on.K != 10 {
		t.Errorf("a start on a boundary: base %s k %d", on.Base, on.K)
	}
	for _, id := range []string{"0b6f4f8e-1111-4c7e-9a8b-000000000001", "0b6f4f8e-1111-4c7e-9a8b-000000000002"} {
		from, to := w.Of(id)
		if to.Sub(from) != 19*time.Second {
			t.Errorf("%s: window %s long", id, to.Sub(from))
		}
		// Every send of this target falls at base + phase + whole seconds: the edges are
		// half an interval away from the nearest.
		send := w.Base.Add(ping.Phase(id, time.Second))
		if d := send.Sub(from); d != 500*time.Millisecond {
			t.Errorf("%s: first send %s after the window opens, want 500ms", id, d)
		}
	}
}

func TestCount(t *testing.T) {
	targets := []Target{{"a", "127.64.0.1"}, {"b", "127.64.0.2"}, {"c", "127.64.0.3"}, {"d", "127.64.0.4"}}
	s := Count(targets, map[string]int64{"a": 20, "b": 18, "c": 21}, 20) // d has none
	if s.Off != 3 || s.Missing != 2+20 || s.Extra != 1 || s.Targets != 4 || s.Stored != 59 || s.Example != "127.64.0.2 has 18" {
		t.Errorf("got %+v", s)
	}
	if s.OK() {
		t.Error("off targets pass")
	}
	if got, want := s.String(), "22 missing 1 extra (3 of 4 targets off, e.g. 127.64.0.2 has 18 of 20)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	good := Count(targets, map[string]int64{"a": 5, "b": 5, "c": 5, "d": 5}, 5)
	if !good.OK() || good.String() != "4 targets × 5 in their windows" {
		t.Errorf("%+v: OK %v, %q", good, good.OK(), good.String())
	}
}
