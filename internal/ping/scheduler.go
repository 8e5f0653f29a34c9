package ping

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"pingdeck/internal/groups"
)

// Desired is a stored target that should be probed. Addr is the stored IP (zero for a
// hostname never resolved); Address is what the user entered.
type Desired struct {
	Target
	Address string
}

// Source is where the scheduler reads which targets should be probed.
type Source interface {
	// ActiveTargets lists the non-paused targets of non-paused groups.
	ActiveTargets(ctx context.Context) ([]Desired, error)
	// ActiveTargetsOfGroup lists the group's targets ActiveTargets would list: none
	// when the group is paused or gone.
	ActiveTargetsOfGroup(ctx context.Context, groupID string) ([]Desired, error)
	// SetTargetIP records the address a hostname target resolved to.
	SetTargetIP(ctx context.Context, targetID string, ip netip.Addr) error
}

// resyncEvery bounds how stale the probed set can get if a change notification is missed
// (for instance a change made by another replica, or a re-read that failed).
const resyncEvery = 10 * time.Second

// Scheduler keeps the engine's targets equal to the stored active targets and hands
// every result to the sinks (the result writer, the live stream). Sinks must not block.
// It is told of committed changes (HandleChange) and re-reads only the groups they
// name; every resyncEvery it re-reads everything.
type Scheduler struct {
	source   Source
	engine   Engine
	resolver *Resolver
	sinks    []func(Result)
	log      *slog.Logger
	pending  pendingGroups
	resync   time.Duration // how often everything is re-read

	// Owned by Run's goroutine: what is probed, by group.
	probed map[string]groupPlan

	mu         sync.Mutex
	unresolved map[string]*unresolvedTarget // hostname targets with no address, by target ID
}

// groupPlan is what the scheduler does with one group's active targets: those it
// probes, the hostnames it keeps resolving, those whose name does not resolve.
type groupPlan struct {
	targets    []Target
	hosts      []string
	unresolved []*unresolvedTarget
}

type unresolvedTarget struct {
	target Target
	err    error
	next   time.Time
}

// NewScheduler wires a source to an engine.
func NewScheduler(source Source, engine Engine, resolver *Resolver, log *slog.Logger, sinks ...func(Result)) *Scheduler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{source: source, engine: engine, resolver: resolver, sinks: sinks, log: log,
		pending: newPendingGroups(maxPendingGroups), resync: resyncEvery, probed: map[string]groupPlan{}, unresolved: map[string]*unresolvedTarget{}}
}

var _ groups.Subscriber = (*Scheduler)(nil)

// HandleChange applies a committed change to what is probed: the group it names is
// re-read at once (a deleted group's targets are dropped without reading). Changes
// that do not touch what is probed (shares, pins…) are ignored. It never blocks.
func (s *Scheduler) HandleChange(c groups.Change) {
	switch c.Kind {
	case groups.ChangeGroupCreated, groups.ChangeGroupUpdated, groups.ChangeTargets:
		s.pending.mark(c.GroupID, false)
	case groups.ChangeGroupDeleted:
		s.pending.mark(c.GroupID, true)
	case groups.ChangeUserDeleted:
		for _, id := range c.GroupIDs {
			s.pending.mark(id, true)
		}
	}
}

// emit hands a result to every sink.
func (s *Scheduler) emit(r Result) {
	for _, sink := range s.sinks {
		sink(r)
	}
}

// Run probes until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.resolver.Run(ctx, s.pending.markAll) // new answers: re-read everything
	}()
	s.syncAll(ctx)
	engineDone := make(chan error, 1)
	go func() { engineDone <- s.engine.Run(ctx, s.emit) }()

	resync := time.NewTicker(s.resync)
	defer resync.Stop()
	failures := time.NewTicker(100 * time.Millisecond)
	defer failures.Stop()
	for {
		select {
		case <-ctx.Done():
			return <-engineDone
		case err := <-engineDone:
			return fmt.Errorf("ping: %s engine stopped: %w", s.engine.Name(), err)
		case <-s.pending.wake:
			s.applyPending(ctx)
		case <-resync.C:
			s.syncAll(ctx)
		case now := <-failures.C:
			s.reportUnresolved(now)
		}
	}
}

// applyPending re-reads the groups changes named since the last call (everything,
// when too many did) and updates the engine once for them all.
func (s *Scheduler) applyPending(ctx context.Context) {
	changed, all := s.pending.take()
	if all {
		s.syncAll(ctx)
		return
	}
	if len(changed) == 0 {
		return
	}
	for id, deleted := range changed {
		if deleted {
			delete(s.probed, id)
			continue
		}
		desired, err := s.source.ActiveTargetsOfGroup(ctx, id)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("reading a changed group's targets failed; the next resync catches up", "group", id, "err", err)
			}
			continue
		}
		if len(desired) == 0 {
			delete(s.probed, id)
			continue
		}
		s.probed[id] = s.plan(ctx, desired)
	}
	s.update()
}

// syncAll reads every active target and updates the engine: at start, every
// resyncEvery, and when the resolver has new answers.
func (s *Scheduler) syncAll(ctx context.Context) {
	desired, err := s.source.ActiveTargets(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("reading targets to probe failed; keeping the current set", "err", err)
		}
		return
	}
	byGroup := map[string][]Desired{}
	for _, d := range desired {
		byGroup[d.GroupID] = append(byGroup[d.GroupID], d)
	}
	probed := make(map[string]groupPlan, len(byGroup))
	for id, ds := range byGroup {
		probed[id] = s.plan(ctx, ds)
	}
	s.probed = probed
	s.update()
}

// plan decides what to do with one group's desired targets. Hostnames take the
// resolver's cached answer (a new address is recorded in the source); a name looked
// up for the first time joins when its answer comes in, probing its stored address
// meanwhile if it has one.
func (s *Scheduler) plan(ctx context.Context, desired []Desired) groupPlan {
	var p groupPlan
	p.targets = make([]Target, 0, len(desired))
	for _, d := range desired {
		if ip, err := netip.ParseAddr(d.Address); err == nil {
			d.Addr = ip.Unmap()
			p.add(s, d.Target)
			continue
		}
		p.hosts = append(p.hosts, d.Address)
		addr, err, known := s.resolver.Cached(d.Address)
		switch {
		case !known:
			if d.Addr.IsValid() {
				p.add(s, d.Target)
			}
		case err == nil:
			if addr != d.Addr {
				if err := s.source.SetTargetIP(ctx, d.ID, addr); err != nil && ctx.Err() == nil {
					s.log.Warn("recording a resolved address failed", "target", d.Address, "err", err)
				}
				d.Addr = addr
			}
			p.targets = append(p.targets, d.Target) // the resolver checked the policy
		case d.Addr.IsValid():
			// Keep probing the last known address through a DNS failure.
			s.log.Debug("re-resolving failed; probing the last known address", "target", d.Address, "err", err)
			p.add(s, d.Target)
		default:
			p.unresolved = append(p.unresolved, s.unresolvedEntry(d.Target, err))
		}
	}
	return p
}

// add probes t at its stored address if the target policy allows it; if not (the
// address was stored before a rule or a --deny-targets entry came in), t reports a
// failed probe each interval saying why, as a name that does not resolve does.
func (p *groupPlan) add(s *Scheduler, t Target) {
	if err := s.resolver.Allowed(t.Addr); err != nil {
		p.unresolved = append(p.unresolved, s.unresolvedEntry(t, err))
		return
	}
	p.targets = append(p.targets, t)
}

// update hands the engine the whole probed set, the resolver the names to keep
// resolving, and the failure reporter the names that do not resolve.
func (s *Scheduler) update() {
	n := 0
	for _, p := range s.probed {
		n += len(p.targets)
	}
	targets := make([]Target, 0, n)
	hosts := map[string]bool{}
	unresolved := map[string]*unresolvedTarget{}
	for _, p := range s.probed {
		targets = append(targets, p.targets...)
		for _, h := range p.hosts {
			hosts[h] = true
		}
		for _, u := range p.unresolved {
			unresolved[u.target.ID] = u
		}
	}
	s.resolver.Want(hosts)
	s.mu.Lock()
	s.unresolved = unresolved
	s.mu.Unlock()
	s.engine.Update(targets)
}

// unresolvedEntry keeps the failure schedule of a target that was already failing.
func (s *Scheduler) unresolvedEntry(t Target, err error) *unresolvedTarget {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.unresolved[t.ID]; old != nil && old.target == t {
		old.err = err
		return old
	}
	return &unresolvedTarget{target: t, err: err, next: nextSlot(time.Now(), t.Interval, Phase(t.ID, t.Interval))}
}

// reportUnresolved emits a failed probe, once per interval, for each target whose
// hostname does not resolve: a name that does not resolve is a target that is down.
func (s *Scheduler) reportUnresolved(now time.Time) {
	s.mu.Lock()
	var due []Result
	for _, u := range s.unresolved {
		for !u.next.After(now) {
			due = append(due, Result{TargetID: u.target.ID, GroupID: u.target.GroupID, SentAt: u.next, Err: u.err.Error()})
			u.next = u.next.Add(u.target.Interval)
		}
	}
	s.mu.Unlock()
	for _, r := range due {
		s.emit(r)
	}
}

// SetResyncEvery changes how often everything is re-read (resyncEvery, 10 s), for a
// source that tells of its changes reliably; call it before Run.
func (s *Scheduler) SetResyncEvery(d time.Duration) {
	if d > 0 {
		s.resync = d
	}
}

// ResyncAll makes the scheduler re-read every target soon: after its source was
// unreachable for a while and may have missed changes.
func (s *Scheduler) ResyncAll() { s.pending.markAll() }
