package live

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The flush loop writes most of the stream's messages (see cut), so it runs on a thread
// of its own under SCHED_IDLE: the kernel gives that thread only CPU no other thread on
// the machine wants, and any thread that wakes (an API request, a probe) takes the CPU
// from it at once. At a positive nice value it merely had a smaller share, and a request
// waking behind it could wait for its slice to end.
//
// Leftover CPU alone would stall the stream on a machine busy with other work for a
// while, so the loop watches itself: when two cuts lie more than flushLateAfter apart it
// moves to a thread at nice flushRaisedNice for flushRaisedFor (doubling, up to
// flushRaisedMax, while it keeps happening), then back to an idle-class thread. It
// changes threads rather than the policy of its thread because an unprivileged thread
// may not leave SCHED_IDLE; a goroutine that ends locked to its thread takes the thread
// with it, so no other goroutine ever runs with either setting.
const (
	flushLateAfter  = 50 * time.Millisecond
	flushRaisedFor  = 10 * time.Second
	flushRaisedMax  = 10 * time.Minute
	flushRaisedNice = 5
)

// flushMode is how the flush loop's thread is scheduled.
type flushMode int

const (
	flushIdle   flushMode = iota // SCHED_IDLE
	flushRaised                  // SCHED_OTHER at nice flushRaisedNice
)

func (m flushMode) String() string {
	if m == flushIdle {
		return "SCHED_IDLE"
	}
	return "nice 5"
}

// flushSchedule decides the flush loop's mode from the gaps between its cuts. Only the
// loop uses it.
type flushSchedule struct {
	mode      flushMode
	lastCut   time.Time
	until     time.Time     // when the raised mode ends
	hold      time.Duration // how long the last raise lasted
	loweredAt time.Time     // when the last raise ended
}

// cutAt records that a cut starts at now and returns the mode the loop should be in and
// the gap since the previous cut.
func (s *flushSchedule) cutAt(now time.Time) (flushMode, time.Duration) {
	var gap time.Duration
	if !s.lastCut.IsZero() {
		gap = now.Sub(s.lastCut)
	}
	s.lastCut = now
	switch {
	case s.mode == flushIdle && gap > flushLateAfter:
		if s.hold > 0 && now.Sub(s.loweredAt) < s.hold {
			s.hold = min(2*s.hold, flushRaisedMax) // behind again soon after: stay up longer
		} else {
			s.hold = flushRaisedFor
		}
		s.mode, s.until = flushRaised, now.Add(s.hold)
	case s.mode == flushRaised && now.After(s.until):
		s.mode, s.loweredAt = flushIdle, now
	}
	return s.mode, gap
}

// setThreadMode schedules the calling thread, which must be locked to its goroutine, as
// m says. An idle class the kernel refuses falls back to the raised mode's nice value.
func setThreadMode(m flushMode) error {
	if m == flushIdle {
		err := unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}, 0)
		if err == nil {
			return nil
		}
		if err2 := setThreadMode(flushRaised); err2 != nil {
			return err2
		}
		return err
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), flushRaisedNice)
}
