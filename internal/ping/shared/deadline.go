package shared

// sharedDeadline is when one probe is lost unless answered.
type sharedDeadline struct {
	at   int64 // nanoseconds since the core's epoch
	seq  uint32
	gen  uint32
	slot int32
}

// sharedDeadlineQueue holds the deadlines of the probes sent with one timeout, in the
// order they were sent. Sends happen in time order, so deadlines with the same timeout
// come due in that order too: a FIFO ring replaces a priority queue, and pushing or
// popping is O(1) whatever the number of targets. It grows by doubling and is then
// reused, so steady-state probing does not allocate.
type sharedDeadlineQueue struct {
	timeout    int64
	ring       []sharedDeadline
	head, size int
}

func (q *sharedDeadlineQueue) push(d sharedDeadline) {
	if q.size == len(q.ring) {
		q.reserve(2 * q.size)
	}
	q.ring[(q.head+q.size)%len(q.ring)] = d
	q.size++
}

// reserve makes the ring hold at least n deadlines (and at least 256).
func (q *sharedDeadlineQueue) reserve(n int) {
	n = max(n, 256)
	if n <= len(q.ring) {
		return
	}
	grown := make([]sharedDeadline, n)
	k := copy(grown, q.ring[q.head:min(q.head+q.size, len(q.ring))])
	copy(grown[k:], q.ring[:q.size-k])
	q.ring, q.head = grown, 0
}

// peek is the earliest deadline; ok is false when the queue is empty.
func (q *sharedDeadlineQueue) peek() (d sharedDeadline, ok bool) {
	if q.size == 0 {
		return sharedDeadline{}, false
	}
	return q.ring[q.head], true
}

func (q *sharedDeadlineQueue) pop() {
	q.head = (q.head + 1) % len(q.ring)
	q.size--
}

// sharedDeadlines are the deadline queues, one per distinct timeout (a handful: one
// per group setting in use).
type sharedDeadlines struct {
	queues []*sharedDeadlineQueue
}

// push records a deadline of a probe sent with timeout.
func (ds *sharedDeadlines) push(timeout int64, d sharedDeadline) { ds.queue(timeout).push(d) }

// reserve makes room for n deadlines with timeout, so that the queue does not grow
// while probing (a target has at most timeout/interval+2 probes in flight).
func (ds *sharedDeadlines) reserve(timeout int64, n int) { ds.queue(timeout).reserve(n) }

// queue is the queue of timeout, made on first use.
func (ds *sharedDeadlines) queue(timeout int64) *sharedDeadlineQueue {
	for _, q := range ds.queues {
		if q.timeout == timeout {
			return q
		}
	}
	q := &sharedDeadlineQueue{timeout: timeout}
	ds.queues = append(ds.queues, q)
	return q
}

// earliest is the queue whose head is due first; nil when there are no deadlines.
func (ds *sharedDeadlines) earliest() *sharedDeadlineQueue {
	var best *sharedDeadlineQueue
	var bestAt int64
	for _, q := range ds.queues {
		if d, ok := q.peek(); ok && (best == nil || d.at < bestAt) {
			best, bestAt = q, d.at
		}
	}
	return best
}

// prune drops the empty queues of timeouts no target uses any more, so a timeout
// edited many times does not leave queues behind.
func (ds *sharedDeadlines) prune(inUse func(timeout int64) bool) {
	kept := ds.queues[:0]
	for _, q := range ds.queues {
		if q.size > 0 || inUse(q.timeout) {
			kept = append(kept, q)
		}
	}
	clear(ds.queues[len(kept):])
	ds.queues = kept
}

func (ds *sharedDeadlines) reset() { ds.queues = nil }

// len is the number of deadlines waiting, stale ones included.
func (ds *sharedDeadlines) len() int {
	n := 0
	for _, q := range ds.queues {
		n += q.size
	}
	return n
}
