package spool

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"pingdeck/internal/ping"
)

func batch(first, n int) []ping.Result {
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	out := make([]ping.Result, n)
	for i := range out {
		k := first + i
		out[i] = ping.Result{TargetID: "t" + string(rune('a'+k%26)), GroupID: "g", SentAt: base.Add(time.Duration(k) * time.Millisecond),
			RTT: time.Duration(k) * time.Microsecond, OK: k%3 != 0}
		if !out[i].OK {
			out[i].RTT, out[i].Err = 0, ping.ErrTimeout
		}
	}
	return out
}

func mustOpen(t *testing.T, dir string, maxBytes int64) *Spool {
	t.Helper()
	s, err := Open(dir, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustAppend(t *testing.T, s *Spool, b []ping.Result) {
	t.Helper()
	if dropped, err := s.Append(b); err != nil || dropped != 0 {
		t.Fatalf("Append: dropped %d, %v", dropped, err)
	}
}

func mustTake(t *testing.T, s *Spool, want []ping.Result) Token {
	t.Helper()
	got, tok, ok := s.Take()
	if !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("Take = %d results (ok %v), want %d:\n got %+v\nwant %+v", len(got), ok, len(want), got, want)
	}
	if c := s.Corruptions(); len(c) != 0 {
		t.Fatalf("Take reported damage: %v", c)
	}
	return tok
}

func TestBatchesComeBackOldestFirstAndGoWhenAcknowledged(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, 1<<20)
	a, b := batch(0, 50), batch(50, 7)
	mustAppend(t, s, a)
	mustAppend(t, s, b)
	if s.Len() != 57 {
		t.Fatalf("Len = %d, want 57", s.Len())
	}
	ta := mustTake(t, s, a)
	tb := mustTake(t, s, b)
	if _, _, ok := s.Take(); ok {
		t.Fatal("a third Take found a record")
	}
	s.Release(tb) // its write failed: it comes back
	s.Ack(ta)
	tb = mustTake(t, s, b)
	s.Ack(tb)
	if s.Len() != 0 || s.Bytes() != 0 {
		t.Fatalf("after acknowledging everything: Len %d, Bytes %d", s.Len(), s.Bytes())
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*"+suffix)); len(files) != 0 {
		t.Fatalf("segments left on disk: %v", files)
	}
	mustAppend(t, s, a) // and it still takes more
	mustTake(t, s, a)
}

// A process killed mid-outage leaves its spool behind; the next one takes every
// record not acknowledged, including those taken but not acknowledged before.
func TestRecordsSurviveACrash(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := batch(0, 10), batch(10, 10), batch(20, 10)
	mustAppend(t, s, a)
	mustAppend(t, s, b)
	mustAppend(t, s, c)
	s.Ack(mustTake(t, s, a))
	mustTake(t, s, b) // taken, never acknowledged: the crash came first
	// No Close: the process died.

	again := mustOpen(t, dir, 1<<20)
	if again.Len() != 30 {
		// a was acknowledged only in memory; its segment still holds it (written twice is fine)
		t.Fatalf("Len after reopening = %d, want 30", again.Len())
	}
	mustTake(t, again, a)
	mustTake(t, again, b)
	mustTake(t, again, c)
}

// Over its size, the spool deletes its oldest segments and says how many results
// went with them; the newest records are kept.
func TestOverSizeDropsTheOldest(t *testing.T) {
	dir := t.TempDir()
	var one int64 // the largest of the six records, in a segment of its own
	for i := range 6 {
		one = max(one, int64(len(fileHeader)+headerSize+len(encode(batch(i*100, 100)))))
	}
	s := mustOpen(t, dir, 3*one) // segments of 3/4 of a record: one record each
	var dropped int64
	for i := range 6 {
		d, err := s.Append(batch(i*100, 100))
		if err != nil {
			t.Fatal(err)
		}
		dropped += d
	}
	if dropped != 300 || s.Len() != 300 || s.Bytes() > 3*one {
		t.Fatalf("dropped %d, Len %d, Bytes %d (limit %d); want 300 dropped, 300 kept", dropped, s.Len(), s.Bytes(), 3*one)
	}
	for i := 3; i < 6; i++ {
		s.Ack(mustTake(t, s, batch(i*100, 100)))
	}
}
