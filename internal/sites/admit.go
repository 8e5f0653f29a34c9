package sites

import (
	"context"
	"slices"
	"sync"
	"time"

	"pingdeck/internal/bus"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// assignmentCache holds, per group, what an agent may report for it, read on first
// need and forgotten when the group changes (HandleChange).
type assignmentCache struct {
	mu     sync.Mutex
	groups map[string]store.Assignment
}

// maxCachedGroups bounds the cache; past it, it starts over.
const maxCachedGroups = 100_000

// Admit says which results of a batch are stored: all of the server's own; of an
// agent's, those for targets of the group when the group is probed from the agent's
// location (so an agent cannot report for groups or targets it was not given); none
// from a location no agent has.
func (r *Registry) Admit(location, group string, rs []ping.Result) ([]ping.Result, string) {
	switch {
	case location == r.o.Own:
		return rs, ""
	case !r.Accepts(location):
		return nil, bus.DropUnknownLocation
	case len(rs) == 0 || group == bus.ProgressGroup:
		return rs, ""
	}
	a, err := r.assignment(group)
	if err != nil {
		// The database is away: store them (the writer is about to retry anyway);
		// refusing would lose an agent's results to a database outage.
		r.o.Logger.Warn("checking an agent's batch against its assignment failed; storing it", "location", location, "group", group, "err", err)
		return rs, ""
	}
	if !slices.Contains(a.Locations, location) {
		return nil, bus.DropNotAssigned
	}
	kept := rs[:0:0]
	for i := range rs {
		if a.Targets[rs[i].TargetID] {
			kept = append(kept, rs[i])
		}
	}
	if len(kept) == len(rs) {
		return rs, ""
	}
	return kept, bus.DropNotAssigned
}

// assignment is the group's locations and targets, from the cache or the store.
func (r *Registry) assignment(group string) (store.Assignment, error) {
	c := &r.cache
	c.mu.Lock()
	a, ok := c.groups[group]
	c.mu.Unlock()
	if ok {
		return a, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := r.o.Store.GroupAssignment(ctx, group)
	if err != nil {
		return store.Assignment{}, err
	}
	c.mu.Lock()
	if c.groups == nil || len(c.groups) >= maxCachedGroups {
		c.groups = map[string]store.Assignment{}
	}
	c.groups[group] = a
	c.mu.Unlock()
	return a, nil
}

// forget drops groups from the cache: they changed.
func (c *assignmentCache) forget(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.groups, id)
	}
}
