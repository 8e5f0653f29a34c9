package api

import (
	"sync"
	"time"
)

// Notification sending limits per user: a burst, then one more per refill, so one user
// cannot flood another's notifications and open dashboards.
const (
	notifyBurst   = 30
	notifyRefill  = 2 * time.Second
	notifyMaxKeys = 10_000
)

// sendLimiter is a token bucket per sender. Its memory is bounded: when maxKeys senders
// are tracked, those whose buckets are full again are forgotten, and if that frees
// nothing, all are (each gets a fresh burst, which is still bounded).
type sendLimiter struct {
	mu      sync.Mutex
	burst   float64
	refill  time.Duration
	maxKeys int
	buckets map[string]*sendBucket
}

type sendBucket struct {
	tokens float64
	at     time.Time
}

func newSendLimiter(burst int, refill time.Duration, maxKeys int) *sendLimiter {
	return &sendLimiter{burst: float64(burst), refill: refill, maxKeys: maxKeys, buckets: map[string]*sendBucket{}}
}

// take spends one send for key and returns 0, or, when key has none left, how long until
// it has one (and spends nothing). A nil limiter allows everything.
func (l *sendLimiter) take(key string, now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.maxKeys {
			l.forgetFull(now)
		}
		b = &sendBucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+float64(elapsed)/float64(l.refill))
		b.at = now
	}
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) * float64(l.refill))
	}
	b.tokens--
	return 0
}

func (l *sendLimiter) forgetFull(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(l.refill) >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= l.maxKeys {
		clear(l.buckets)
	}
}
