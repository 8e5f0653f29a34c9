package auth

import (
	"sync"
	"time"
)

// failureLimiter counts failed sign-ins per key (a username, a client IP) in token
// buckets: each key may fail `burst` times, then once per `refill`. Its memory is bounded:
// when maxKeys keys are tracked, buckets that have refilled are forgotten, and if none
// has, the oldest is.
type failureLimiter struct {
	mu      sync.Mutex
	burst   float64
	refill  time.Duration
	maxKeys int
	buckets map[string]*bucket
}

type bucket struct {
	tokens  float64
	updated time.Time
}

func newFailureLimiter(burst int, refill time.Duration, maxKeys int) *failureLimiter {
	return &failureLimiter{burst: float64(burst), refill: refill, maxKeys: maxKeys, buckets: map[string]*bucket{}}
}

// wait reports how long the caller must wait before key may try again (0: now).
func (l *failureLimiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return 0
	}
	l.refillBucket(b, now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(l.refill))
}

// fail records one failure for key.
func (l *failureLimiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		l.makeRoom(now)
		b = &bucket{tokens: l.burst, updated: now}
		l.buckets[key] = b
	}
	l.refillBucket(b, now)
	b.tokens = max(b.tokens-1, 0)
}

func (l *failureLimiter) refillBucket(b *bucket, now time.Time) {
	if elapsed := now.Sub(b.updated); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+float64(elapsed)/float64(l.refill))
		b.updated = now
	}
}

func (l *failureLimiter) makeRoom(now time.Time) {
	if len(l.buckets) < l.maxKeys {
		return
	}
	var oldestKey string
	var oldest time.Time
	for k, b := range l.buckets {
		l.refillBucket(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
			continue
		}
		if oldestKey == "" || b.updated.Before(oldest) {
			oldestKey, oldest = k, b.updated
		}
	}
	if len(l.buckets) >= l.maxKeys {
		delete(l.buckets, oldestKey)
	}
}
