package live

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFlushLoopRunsOnANice5ThreadThatEndsWithIt(t *testing.T) {
	const nice5 = "0/5"
	if s := threadScheds(t, false); countSched(s, nice5) != 0 {
		t.Fatalf("threads before Run: %v", s)
	}
	// Counting the main thread too: it may be parked at nice 5 by an earlier run.
	before := countSched(threadScheds(t, true), nice5)
	h := testHub(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	waitThreads(t, true, nice5, before+1)
	cancel()
	<-done
	waitThreads(t, false, nice5, 0) // the loop's thread ended with it, and no other runs at nice 5
}

// threadScheds lists the scheduling of this process's threads as "policy/nice" strings
// (policy 0 is SCHED_OTHER), from /proc/self/task/*/stat. Without main it
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

// waitThreads waits until this process has want threads scheduled as sched, counting
// the main thread or not.
func waitThreads(t *testing.T, main bool, sched string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := threadScheds(t, main)
		if countSched(s, sched) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads %v: want %d scheduled %s", s, want, sched)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
