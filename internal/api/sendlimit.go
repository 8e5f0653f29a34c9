package api

import (
	"time"

	"pingdeck/internal/ratelimit"
)

// Notification sending limits per user: a burst, then one more per refill, so one user
// cannot flood another's notifications and open dashboards. Memory is bounded by
// notifyMaxKeys senders (see ratelimit.Buckets).
const (
	notifyBurst   = 30
	notifyRefill  = 2 * time.Second
	notifyMaxKeys = 10_000
)

func newSendLimiter() *ratelimit.Limiter {
	return ratelimit.NewLimiter(notifyBurst, notifyRefill, notifyMaxKeys)
}
