//go:build linux

package pingtest

import (
	"container/heap"
	"runtime"
	"sync"
	"time"
)

// Timing. Sleeping until a reply is due is not precise enough on its own: Go timers
// wait in epoll_wait, whose timeout is in whole milliseconds (so they fire up to
// 1 ms late), and on virtual machines waking an idle CPU takes another 0.5–1.5 ms
// (clock_nanosleep is no better there). So the scheduler wakes spinWindow early and
// polls the clock for the rest, yielding the processor in between, which puts
// replies within ~0.1 ms of their due time. Polling burns CPU that the code under
// test may need, so it is rationed to 1/spinShare of the time (a token bucket
// holding up to spinBurst); beyond that the scheduler relies on the timer alone,
// typically 0.1–1 ms late.
const (
	spinWindow = 1500 * time.Microsecond
	spinShare  = 4 // polling may use 1/spinShare of the time
	spinBurst  = 50 * time.Millisecond
)

// pending is one reply waiting for its due time.
type pending struct {
	due time.Time
	n   uint64 // insertion order, keeps replies with the same due time FIFO
	r   reply
}

// replyHeap is a min-heap of pending replies ordered by due time.
type replyHeap []pending

func (h replyHeap) Len() int { return len(h) }
func (h replyHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].n < h[j].n
	}
	return h[i].due.Before(h[j].due)
}
func (h replyHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *replyHeap) Push(x any)   { *h = append(*h, x.(pending)) }
func (h *replyHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = pending{}
	*h = old[:len(old)-1]
	return p
}

// scheduler sends delayed replies from a single goroutine: one heap, one timer, no
// goroutine per packet.
type scheduler struct {
	send func(reply)
	wake chan struct{} // buffered(1): the earliest due time changed
	stop chan struct{}

	mu   sync.Mutex
	h    replyHeap
	next uint64
}

func newScheduler(send func(reply)) *scheduler {
	return &scheduler{send: send, wake: make(chan struct{}, 1), stop: make(chan struct{})}
}

// add queues r to be sent at due.
func (s *scheduler) add(due time.Time, r reply) {
	s.mu.Lock()
	s.next++
	heap.Push(&s.h, pending{due: due, n: s.next, r: r})
	first := s.h[0].n == s.next
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// popDue removes and returns the replies due at or before now, and the due time of
// the earliest reply left (zero if none).
func (s *scheduler) popDue(now time.Time, buf []reply) ([]reply, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.h) > 0 && !s.h[0].due.After(now) {
		buf = append(buf, heap.Pop(&s.h).(pending).r)
	}
	if len(s.h) == 0 {
		return buf, time.Time{}
	}
	return buf, s.h[0].due
}

// run sends replies as they fall due until close is called. Replies still queued
// then are dropped.
func (s *scheduler) run() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var batch []reply
	budget, refilled := spinBurst, time.Now()
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		var next time.Time
		batch, next = s.popDue(time.Now(), batch[:0])
		for _, r := range batch {
			s.send(r)
		}
		clear(batch)
		if !next.IsZero() {
			now := time.Now()
			budget = min(spinBurst, budget+now.Sub(refilled)/spinShare)
			refilled = now
			lead := spinWindow
			if budget < spinWindow {
				lead = 0
			}
			if wait := next.Sub(now); wait > lead {
				t.Reset(wait - lead)
			} else {
				spinUntil(next)
				budget -= time.Since(now)
				continue
			}
		} else {
			t.Stop()
		}
		select {
		case <-t.C:
		case <-s.wake:
		case <-s.stop:
			return
		}
	}
}

// spinUntil polls the clock until due, yielding the processor in between.
func spinUntil(due time.Time) {
	for time.Now().Before(due) {
		runtime.Gosched()
	}
}

// close stops run. It must be called once.
func (s *scheduler) close() { close(s.stop) }
