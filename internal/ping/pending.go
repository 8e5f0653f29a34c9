package ping

import "sync"

// maxPendingGroups bounds the changed groups waiting for the scheduler's loop; past
// it they collapse into one re-read of everything (nothing is lost, only merged).
const maxPendingGroups = 1024

// pendingGroups are the groups changes named that the scheduler has not re-read yet:
// each at most once, with whether its last change deleted it. Marking never blocks:
// it records and wakes the loop (a wake already pending is enough).
type pendingGroups struct {
	mu     sync.Mutex
	groups map[string]bool // group ID → deleted
	all    bool            // re-read everything
	max    int
	wake   chan struct{}
}

func newPendingGroups(max int) pendingGroups {
	return pendingGroups{groups: map[string]bool{}, max: max, wake: make(chan struct{}, 1)}
}

// mark records a change to group id (deleted: the group is gone).
func (p *pendingGroups) mark(id string, deleted bool) {
	p.mu.Lock()
	_, known := p.groups[id]
	switch {
	case p.all:
	case !known && len(p.groups) >= p.max:
		p.all = true
		clear(p.groups)
	default:
		p.groups[id] = deleted
	}
	p.mu.Unlock()
	p.signal()
}

// markAll asks for a re-read of everything.
func (p *pendingGroups) markAll() {
	p.mu.Lock()
	p.all = true
	clear(p.groups)
	p.mu.Unlock()
	p.signal()
}

func (p *pendingGroups) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// take returns what was marked since the last take, and forgets it.
func (p *pendingGroups) take() (groups map[string]bool, all bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	groups, all = p.groups, p.all
	p.groups, p.all = map[string]bool{}, false
	return groups, all
}
