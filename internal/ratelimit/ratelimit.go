// Package ratelimit is pingdeck's token bucket: each key may spend a burst of tokens,
// then earns one more per refill interval. It bounds the memory it uses by the number of
// keys it tracks, so callers keep each key short (an address, a username, an ID).
package ratelimit

import (
	"slices"
	"sync"
	"time"
)

// Buckets is a set of token buckets, one per key, all with the same burst and refill.
//
// It is not safe for concurrent use: the caller holds a lock around it, so that checking
// several buckets and spending from them can be one atomic step. Limiter is Buckets
// behind a mutex, for callers that spend from one key at a time.
//
// Memory: at most maxKeys buckets are kept. A key with a full bucket is the same as a
// key never seen, so when a new key finds the set full, full buckets are forgotten; if
// none is full, the bucket used least recently is.
type Buckets struct {
	burst   float64
	refill  time.Duration
	maxKeys int
	buckets map[string]*bucket
}

// NewBuckets returns an empty set of buckets that each hold burst tokens, earn one per
// refill, and number at most maxKeys.
func NewBuckets(burst int, refill time.Duration, maxKeys int) *Buckets {
	return &Buckets{burst: float64(burst), refill: refill, maxKeys: max(maxKeys, 1), buckets: map[string]*bucket{}}
}

// Wait is how long until key has a token to spend: 0 when it has one now.
func (b *Buckets) Wait(key string, now time.Time) time.Duration {
	bk := b.buckets[key]
	if bk == nil {
		return 0
	}
	b.bringUp(bk, now)
	if bk.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - bk.tokens) * float64(b.refill))
}

// Take spends one of key's tokens. The caller checks Wait first; a key with none left
// stays at none.
func (b *Buckets) Take(key string, now time.Time) {
	bk := b.buckets[key]
	if bk == nil {
		b.makeRoom(now)
		bk = &bucket{tokens: b.burst, at: now}
		b.buckets[key] = bk
	}
	b.bringUp(bk, now)
	bk.tokens = max(bk.tokens-1, 0)
}

// Refund gives key back one token (never above the burst): for an attempt that was
// reserved but turned out not to count.
func (b *Buckets) Refund(key string, now time.Time) {
	if bk := b.buckets[key]; bk != nil {
		b.bringUp(bk, now)
		bk.tokens = min(bk.tokens+1, b.burst)
	}
}

// Reset fills key's bucket again.
func (b *Buckets) Reset(key string) { delete(b.buckets, key) }

// Len is how many keys are tracked.
func (b *Buckets) Len() int { return len(b.buckets) }

func (b *Buckets) bringUp(bk *bucket, now time.Time) { bk.bringUp(now, b.burst, b.refill) }

// makeRoom forgets buckets until one more fits. When the set is full it forgets every
// full bucket, and if that frees less than an eighth of the set, the least recently used
// ones until it has: one sweep (and sort) per maxKeys/8 new keys, not one per key.
func (b *Buckets) makeRoom(now time.Time) {
	if len(b.buckets) < b.maxKeys {
		return
	}
	target := b.maxKeys - max(b.maxKeys/8, 1)
	type use struct {
		key string
		at  time.Time
	}
	var inUse []use
	for k, bk := range b.buckets {
		if bk.tokens+float64(now.Sub(bk.at))/float64(b.refill) >= b.burst {
			delete(b.buckets, k)
		} else {
			inUse = append(inUse, use{k, bk.at})
		}
	}
	if len(b.buckets) <= target {
		return
	}
	slices.SortFunc(inUse, func(x, y use) int { return x.at.Compare(y.at) })
	for _, u := range inUse[:len(b.buckets)-target] {
		delete(b.buckets, u.key)
	}
}

// Limiter is one set of Buckets behind a mutex: each event spends a token of its key.
// A nil *Limiter allows everything.
type Limiter struct {
	mu sync.Mutex
	b  *Buckets
}

// NewLimiter returns a Limiter over NewBuckets(burst, refill, maxKeys).
func NewLimiter(burst int, refill time.Duration, maxKeys int) *Limiter {
	return &Limiter{b: NewBuckets(burst, refill, maxKeys)}
}

// Take spends one token of key and returns 0, or, when key has none, returns how long
// until it has one and spends nothing. Checking and spending are one step, so parallel
// callers never spend more than the bucket holds.
func (l *Limiter) Take(key string, now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait := l.b.Wait(key, now); wait > 0 {
		return wait
	}
	l.b.Take(key, now)
	return 0
}

// Len is how many keys are tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}
