package ratelimit_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pingdeck/internal/ratelimit"
)

var t0 = time.Unix(1_000_000, 0)

func TestBucketsRefill(t *testing.T) {
	b := ratelimit.NewBuckets(2, 10*time.Second, 10)
	if w := b.Wait("k", t0); w != 0 {
		t.Fatalf("a key never seen: wait %v, want 0", w)
	}
	b.Take("k", t0)
	if w := b.Wait("k", t0); w != 0 {
		t.Fatalf("after one of two tokens: wait %v, want 0", w)
	}
	b.Take("k", t0)
	if w := b.Wait("k", t0); w != 10*time.Second {
		t.Fatalf("after the burst: wait %v, want 10s", w)
	}
	if w := b.Wait("k", t0.Add(4*time.Second)); w != 6*time.Second {
		t.Fatalf("4s later: wait %v, want 6s", w)
	}
	if w := b.Wait("k", t0.Add(10*time.Second)); w != 0 {
		t.Fatalf("after the refill: wait %v, want 0", w)
	}
	b.Take("k", t0.Add(10*time.Second))
	b.Refund("k", t0.Add(10*time.Second))
	if w := b.Wait("k", t0.Add(10*time.Second)); w != 0 {
		t.Fatalf("a refunded token: wait %v, want 0", w)
	}
	b.Take("k", t0.Add(10*time.Second))
	b.Reset("k")
	if w := b.Wait("k", t0.Add(10*time.Second)); w != 0 || b.Len() != 0 {
		t.Fatalf("after Reset: wait %v, %d keys; want 0, 0", w, b.Len())
	}
}

func TestRefundNeverExceedsTheBurst(t *testing.T) {
	b := ratelimit.NewBuckets(2, time.Hour, 10)
	b.Take("k", t0)
	for range 5 {
		b.Refund("k", t0)
	}
	for i := range 2 {
		if b.Wait("k", t0) != 0 {
			t.Fatalf("take %d of a burst of 2 refused", i+1)
		}
		b.Take("k", t0)
	}
	if b.Wait("k", t0) == 0 {
		t.Fatal("refunds raised the bucket above its burst")
	}
}

// TestLimiterTakeIsAtomic: parallel takers of one key get exactly the burst between them.
func TestLimiterTakeIsAtomic(t *testing.T) {
	l := ratelimit.NewLimiter(5, time.Hour, 10)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if l.Take("k", t0) == 0 {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 5 {
		t.Fatalf("%d of 200 parallel takes allowed, burst is 5", n)
	}
	var nilLimiter *ratelimit.Limiter
	if nilLimiter.Take("k", t0) != 0 {
		t.Fatal("a nil limiter refused")
	}
}

func TestBucketsForgetFullBucketsFirst(t *testing.T) {
	b := ratelimit.NewBuckets(3, time.Second, 3)
	b.Take("old", t0)
	for range 3 {
		b.Take("spent", t0.Add(100*time.Millisecond))
	}
	b.Take("new", t0.Add(500*time.Millisecond))
	b.Take("newest", t0.Add(600*time.Millisecond)) // nothing is full: "old" is used least recently
	if b.Len() != 3 {
		t.Fatalf("%d keys, bound is 3", b.Len())
	}
	if b.Wait("spent", t0.Add(600*time.Millisecond)) == 0 {
		t.Fatal("the spent bucket was forgotten instead of the least recently used one")
	}
	later := t0.Add(time.Hour) // everything is full again: all of it may go
	b.Take("late", later)
	if b.Len() != 1 {
		t.Fatalf("after an hour %d keys kept, want only the new one", b.Len())
	}
}

// TestBucketsMemoryIsBounded: however many keys come, the set holds maxKeys, and that
// many keys of 48 bytes cost less than the stated bytes.
func TestBucketsMemoryIsBounded(t *testing.T) {
	const maxKeys, bytesPerKey = 10_000, 200
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b := ratelimit.NewBuckets(5, time.Minute, maxKeys)
	pad := strings.Repeat("x", 40)
	for i := range 3 * maxKeys {
		b.Take(fmt.Sprintf("%s%08d", pad, i), t0.Add(time.Duration(i)*time.Millisecond))
		if b.Len() > maxKeys {
			t.Fatalf("%d keys tracked, bound is %d", b.Len(), maxKeys)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	used := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if used > maxKeys*bytesPerKey {
		t.Fatalf("%d keys use %d bytes of heap, more than %d per key", maxKeys, used, bytesPerKey)
	}
	t.Logf("%d keys of 48 bytes: %d bytes of heap (%d per key)", maxKeys, used, used/maxKeys)
	runtime.KeepAlive(b)
}

func TestBucket(t *testing.T) {
	b := ratelimit.NewBucket(3, 100*time.Millisecond)
	for i := range 3 {
		if !b.Allow(t0) {
			t.Fatalf("message %d of a burst of 3 refused", i+1)
		}
	}
	if b.Allow(t0) {
		t.Fatal("a 4th message at once allowed")
	}
	if b.Allow(t0.Add(99 * time.Millisecond)) {
		t.Fatal("allowed before a token was earned")
	}
	if !b.Allow(t0.Add(100 * time.Millisecond)) {
		t.Fatal("refused after a token was earned")
	}
	if !b.Allow(t0.Add(time.Hour)) || !b.Allow(t0.Add(time.Hour)) || !b.Allow(t0.Add(time.Hour)) || b.Allow(t0.Add(time.Hour)) {
		t.Fatal("after a long quiet spell the bucket should hold the burst again, and no more")
	}
}
