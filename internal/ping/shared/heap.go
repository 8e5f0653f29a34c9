package shared

// sharedEvent is one target's next send in the shared engine's schedule (deadlines
// have their own queues, shared_deadline.go). It holds no pointers, so the schedule is
// one flat slice the garbage collector need not scan. An event whose gen no longer
// matches its slot's is stale (the target was removed or changed) and is dropped when
// it comes up.
type sharedEvent struct {
	at   int64 // nanoseconds since the core's epoch
	gen  uint32
	slot int32
}

// sharedHeap is a binary min-heap of events ordered by time. It is written out rather
// than built on container/heap, whose interface{} Push would allocate per event.
type sharedHeap []sharedEvent

func (h sharedHeap) less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].slot < h[j].slot
}

func (h *sharedHeap) push(e sharedEvent) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s.less(i, parent) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

// pop removes and returns the earliest event; the heap must not be empty.
func (h *sharedHeap) pop() sharedEvent {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	*h = s[:last]
	h.down(0)
	return top
}

func (h sharedHeap) down(i int) {
	for {
		l, r, least := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, least) {
			least = l
		}
		if r < len(h) && h.less(r, least) {
			least = r
		}
		if least == i {
			return
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
}

// retain keeps only the events keep accepts, in heap order.
func (h *sharedHeap) retain(keep func(sharedEvent) bool) {
	s := (*h)[:0]
	for _, e := range *h {
		if keep(e) {
			s = append(s, e)
		}
	}
	for i := len(s)/2 - 1; i >= 0; i-- {
		s.down(i)
	}
	*h = s
}
