//go:build !linux

package shared

import "errors"

// New returns an error: the shared-socket engine needs Linux (datagram ICMP
// sockets, SO_TIMESTAMPNS, socket filters). Use the probing engine elsewhere.
func New(opts Options) (*Engine, error) {
	return nil, errors.New("ping: shared: the shared-socket engine needs Linux; use --ping-engine=probing")
}

func newSharedSleeper() (sharedSleeper, error) { return newSharedTimerSleeper(), nil }
