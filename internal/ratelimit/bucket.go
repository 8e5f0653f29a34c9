package ratelimit

import "time"

// bucket is the state of one token bucket; the burst and refill are its owner's.
type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

// bringUp adds the tokens earned since the bucket was last brought up to date.
func (bk *bucket) bringUp(now time.Time, burst float64, refill time.Duration) {
	if elapsed := now.Sub(bk.at); elapsed > 0 {
		bk.tokens = min(burst, bk.tokens+float64(elapsed)/float64(refill))
		bk.at = now
	}
}

// Bucket is one token bucket, for a caller with a single key (one socket's inbound
// messages): it holds up to burst tokens, starts full, and earns one per refill. It is
// not safe for concurrent use.
type Bucket struct {
	burst  float64
	refill time.Duration
	b      bucket
}

// NewBucket returns a full bucket of burst tokens that earns one per refill.
func NewBucket(burst int, refill time.Duration) *Bucket {
	return &Bucket{burst: float64(burst), refill: refill, b: bucket{tokens: float64(burst)}}
}

// Allow spends one token and reports true, or reports false when there is none and
// spends nothing.
func (b *Bucket) Allow(now time.Time) bool {
	b.b.bringUp(now, b.burst, b.refill)
	if b.b.tokens < 1 {
		return false
	}
	b.b.tokens--
	return true
}
