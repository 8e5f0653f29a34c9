//go:build linux

package shared

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// sharedEventSleeper waits in ppoll(2) on an eventfd, with a nanosecond timeout. The
// engine's goroutine sleeps in the system call itself, so a tick costs one syscall:
// no runtime timer is reset and no other thread is woken to run one, which a
// thousand wake-ups a second would otherwise cost.
type sharedEventSleeper struct {
	fds [1]unix.PollFd
	ts  unix.Timespec
	buf [8]byte

	mu     sync.Mutex // wake against close: a closed descriptor's number may be reused
	efd    int
	closed bool
}

func newSharedSleeper() (sharedSleeper, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("ping: shared: eventfd: %w", err)
	}
	s := &sharedEventSleeper{efd: fd}
	s.fds[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	return s, nil
}

func (s *sharedEventSleeper) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	s.ts = unix.NsecToTimespec(int64(d))
	s.fds[0].Revents = 0
	if n, _ := unix.Ppoll(s.fds[:], &s.ts, nil); n > 0 {
		_, _ = unix.Read(s.efd, s.buf[:]) // reset the counter: the wake-up is taken
	}
}

var sharedEventOne = binary.NativeEndian.AppendUint64(nil, 1)

func (s *sharedEventSleeper) wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		_, _ = unix.Write(s.efd, sharedEventOne) // EAGAIN: the counter is full, a wake-up is pending anyway
	}
}

func (s *sharedEventSleeper) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return unix.Close(s.efd)
}
