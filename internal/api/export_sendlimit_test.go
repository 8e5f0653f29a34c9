package api

import "time"

// SendLimiterForTest exposes the notification send limiter to the external tests.
type SendLimiterForTest struct{ l *sendLimiter }

// NewSendLimiterForTest returns a limiter with the given burst, refill and bound.
func NewSendLimiterForTest(burst int, refill time.Duration, maxKeys int) SendLimiterForTest {
	return SendLimiterForTest{newSendLimiter(burst, refill, maxKeys)}
}

// Take spends one send for key (see sendLimiter.take).
func (s SendLimiterForTest) Take(key string, now time.Time) time.Duration { return s.l.take(key, now) }

// Len is how many senders are tracked.
func (s SendLimiterForTest) Len() int { s.l.mu.Lock(); defer s.l.mu.Unlock(); return len(s.l.buckets) }
