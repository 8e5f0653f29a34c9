package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestFailureLimiterBoundsMemory(t *testing.T) {
	l := newFailureLimiter(3, time.Second, 100)
	now := time.Unix(1_000_000, 0)
	for i := range 1000 {
		l.fail(fmt.Sprintf("k%d", i), now.Add(time.Duration(i)*time.Millisecond))
	}
	if len(l.buckets) > 100 {
		t.Fatalf("limiter tracks %d keys, bound is 100", len(l.buckets))
	}
}

func TestFailureLimiterRefills(t *testing.T) {
	l := newFailureLimiter(2, 10*time.Second, 10)
	now := time.Unix(1_000_000, 0)
	l.fail("k", now)
	if w := l.wait("k", now); w != 0 {
		t.Fatalf("after one of two allowed failures, wait = %v", w)
	}
	l.fail("k", now)
	if w := l.wait("k", now); w != 10*time.Second {
		t.Fatalf("after the burst, wait = %v, want 10s", w)
	}
	if w := l.wait("k", now.Add(10*time.Second)); w != 0 {
		t.Fatalf("after the refill, wait = %v", w)
	}
}
