package api

import (
	"time"

	"pingdeck/internal/ratelimit"
)

// SendLimiterForTest exposes the kind of limiter notifications are sent through.
type SendLimiterForTest struct{ l *ratelimit.Limiter }

// NewSendLimiterForTest returns a limiter with the given burst, refill and bound.
func NewSendLimiterForTest(burst int, refill time.Duration, maxKeys int) SendLimiterForTest {
	return SendLimiterForTest{ratelimit.NewLimiter(burst, refill, maxKeys)}
}

// Take spends one send for key (see ratelimit.Limiter.Take).
func (s SendLimiterForTest) Take(key string, now time.Time) time.Duration { return s.l.Take(key, now) }

// Len is how many senders are tracked.
func (s SendLimiterForTest) Len() int { return s.l.Len() }
