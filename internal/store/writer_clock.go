package store

import "time"

// clock is the time the result writer reads and waits on. The server uses the wall
// clock; the writer's tests use a fake one they move by hand, so that they order
// events by moving it instead of sleeping.
type clock interface {
	Now() time.Time
	// NewTicker behaves as time.NewTicker: a tick waits in a one-place buffer, and
	// ticks that find it full are dropped.
	NewTicker(d time.Duration) ticker
}

// ticker is what the writer uses of a *time.Ticker.
type ticker interface {
	C() <-chan time.Time
	Stop()
}

// wallClock is the real time.
type wallClock struct{}

func (wallClock) Now() time.Time                   { return time.Now() }
func (wallClock) NewTicker(d time.Duration) ticker { return wallTicker{time.NewTicker(d)} }

type wallTicker struct{ t *time.Ticker }

func (w wallTicker) C() <-chan time.Time { return w.t.C }
func (w wallTicker) Stop()               { w.t.Stop() }

var _ clock = wallClock{}
