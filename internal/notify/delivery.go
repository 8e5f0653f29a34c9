package notify

import (
	"errors"
	"time"
)

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// Delivery statuses: pending until sent or given up on.
const (
	StatusPending DeliveryStatus = "pending"
	StatusSent    DeliveryStatus = "sent"
	StatusFailed  DeliveryStatus = "failed"
)

// Delivery is one notification for one channel, stored before it is first sent.
type Delivery struct {
	ID        string
	ChannelID string
	// Notification is the payload; (ChannelID, Notification.ID) is unique.
	Notification Notification
	Attempts     int
	NextAt       time.Time
	Status       DeliveryStatus
	LastError    string
	CreatedAt    time.Time
	DeliveredAt  *time.Time
	// Claim counts claims by dispatchers; a claim succeeds only against the count it read.
	Claim int
}

// Attempt is the outcome of one try of a delivery, recorded with the delivery's new state.
type Attempt struct {
	DeliveryID string
	At         time.Time
	// Status is the delivery's status after this attempt.
	Status DeliveryStatus
	// NextAt is when to try again (Status pending).
	NextAt time.Time
	// Error is why it failed ("" when sent).
	Error string
}

// Retry policy: 1 s doubling to 5 min between tries, given up 24 h after the delivery
// was created.
const (
	firstRetry = time.Second
	maxRetry   = 5 * time.Minute
	giveUp     = 24 * time.Hour
)

// retryDelay is the wait after the attempts-th failed try (1-based).
func retryDelay(attempts int) time.Duration {
	d := firstRetry
	for i := 1; i < attempts && d < maxRetry; i++ {
		d *= 2
	}
	return min(d, maxRetry)
}

// permanentError is a failure that a retry cannot fix (e.g. HTTP 400, 401, 404).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

// outcome turns a send's error into the delivery's next state.
func outcome(d *Delivery, err error, now time.Time) Attempt {
	a := Attempt{DeliveryID: d.ID, At: now, Status: StatusSent}
	if err == nil {
		return a
	}
	a.Error = err.Error()
	if len(a.Error) > 1000 {
		a.Error = a.Error[:1000]
	}
	var perm *permanentError
	next := now.Add(retryDelay(d.Attempts + 1))
	switch {
	case d.Notification.Test, errors.As(err, &perm), next.Sub(d.CreatedAt) > giveUp:
		a.Status = StatusFailed
	default:
		a.Status, a.NextAt = StatusPending, next
	}
	return a
}
