//go:build !linux

package ping

import "errors"

// NewShared returns an error: the shared-socket engine needs Linux (datagram ICMP
// sockets, SO_TIMESTAMPNS, socket filters). Use the probing engine elsewhere.
func NewShared(opts SharedOptions) (*Shared, error) {
	return nil, errors.New("ping: shared: the shared-socket engine needs Linux; use --ping-engine=probing")
}

func newSharedSleeper() (sharedSleeper, error) { return newSharedTimerSleeper(), nil }
