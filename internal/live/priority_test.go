package live

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestFlushScheduleRaisesWhenBehindAndComesBack(t *testing.T) {
	var s flushSchedule
	t0 := time.Unix(1_700_000_000, 0)
	at := func(d time.Duration) flushMode { m, _ := s.cutAt(t0.Add(d)); return m }
	steps := []struct {
		at   time.Duration
		want flushMode
		why  string
	}{
		{0, flushIdle, "first cut"},
		{6 * time.Millisecond, flushIdle, "on time"},
		{40 * time.Millisecond, flushIdle, "34 ms gap: not behind"},
		{100 * time.Millisecond, flushRaised, "60 ms gap: behind"},
		{5 * time.Second, flushRaised, "raised for 10 s, even with a long gap"},
		{10*time.Second + 100*time.Millisecond, flushRaised, "until 10.1 s"},
		{10*time.Second + 110*time.Millisecond, flushIdle, "then back"},
		{12 * time.Second, flushRaised, "behind again within 10 s of coming back"},
		{31 * time.Second, flushRaised, "so raised for 20 s"},
		{32*time.Second + 10*time.Millisecond, flushIdle, "then back"},
		{32*time.Second + 20*time.Millisecond, flushIdle, "on time"},
		{60 * time.Second, flushRaised, "behind after 28 s of calm"},
		{70*time.Second + 10*time.Millisecond, flushIdle, "raised for 10 s again"},
	}
	for _, st := range steps {
		if got := at(st.at); got != st.want {
			t.Fatalf("cut at %v (%s): %v, want %v", st.at, st.why, got, st.want)
		}
	}
}

func TestFlushScheduleHoldsAtMost10Minutes(t *testing.T) {
	var s flushSchedule
	now := time.Unix(1_700_000_000, 0)
	s.cutAt(now)
	for range 20 {
		now = now.Add(time.Second)
		if m, _ := s.cutAt(now); m != flushRaised {
			t.Fatal("a cut 1 s late did not raise the loop")
		}
		now = s.until.Add(time.Millisecond)
		s.cutAt(now) // back to idle
	}
	if s.hold != flushRaisedMax {
		t.Fatalf("hold after 20 quick raises: %v, want %v", s.hold, flushRaisedMax)
	}
}

// threadScheds lists the scheduling of this process's threads as "policy/nice" strings
// (policy 0 is SCHED_OTHER, 5 SCHED_IDLE), from /proc/self/task/*/stat. Without main it
// leaves out the main thread: a goroutine that ends locked to it leaves it parked for
// good, as the runtime cannot end it, so no goroutine runs there again whatever its
// scheduling.
func threadScheds(t *testing.T, main bool) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	mainStat := fmt.Sprintf("/proc/self/task/%d/stat", os.Getpid())
	for _, p := range stats {
		if p == mainStat && !main {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended
		}
		_, rest, _ := strings.Cut(string(b), ") ")
		f := strings.Fields(rest) // f[0] is field 3 (state)
		if len(f) < 39 {
			t.Fatalf("%s: short stat %q", p, b)
		}
		out = append(out, f[38]+"/"+f[16]) // fields 41 (policy) and 19 (nice)
	}
	return out
}

func countSched(scheds []string, want string) int {
	n := 0
	for _, s := range scheds {
		if s == want {
			n++
		}
	}
	return n
}

// waitThreads waits until this process has want threads scheduled as sched: at least
// want counting the main thread, or none besides it when want is 0.
func waitThreads(t *testing.T, sched string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := threadScheds(t, want > 0)
		if n := countSched(s, sched); n == want || want > 0 && n > want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads %v: want %d scheduled %s", s, want, sched)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFlushLoopRunsOnAnIdleThreadAndMovesWhenBehind(t *testing.T) {
	const idle, raised = "5/0", "0/5"
	if s := threadScheds(t, false); countSched(s, idle)+countSched(s, raised) != 0 {
		t.Fatalf("threads before Run: %v", s)
	}
	h := testHub(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitThreads(t, idle, 1)
	h.mu.Lock() // the next cut waits: the loop is behind
	time.Sleep(2 * flushLateAfter)
	h.mu.Unlock()
	waitThreads(t, raised, 1)
	waitThreads(t, idle, 0)
	if n := testutil.ToFloat64(h.m.flushRaised); n != 1 {
		t.Fatalf("pingdeck_live_flush_raised_total = %v, want 1", n)
	}

	cancel()
	<-done
	waitThreads(t, raised, 0) // the loop's thread ended with it
	if s := threadScheds(t, false); countSched(s, idle) != 0 {
		t.Fatalf("threads after Run: %v", s)
	}
}
