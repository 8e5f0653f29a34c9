package ping

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
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
	// SetTargetIP records the address a hostname target resolved to.
	SetTargetIP(ctx context.Context, targetID string, ip netip.Addr) error
}

// resyncEvery bounds how stale the probed set can get if a change notification is missed
// (for instance a change made by another replica).
const resyncEvery = 10 * time.Second

// Scheduler keeps the engine's targets equal to the stored active targets and hands
// every result to the sinks (the result writer, the live stream). Sinks must not block.
type Scheduler struct {
	source   Source
	engine   Engine
	resolver *Resolver
	sinks    []func(Result)
	log      *slog.Logger
	changed  chan struct{}

	mu         sync.Mutex
	unresolved map[string]*unresolvedTarget // hostname targets with no address, by target ID
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
		changed: make(chan struct{}, 1), unresolved: map[string]*unresolvedTarget{}}
}

// Changed tells the scheduler that stored targets changed; it re-reads them at once.
// It never blocks.
func (s *Scheduler) Changed() {
	select {
	case s.changed <- struct{}{}:
	default: // a re-read is already due
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
		s.resolver.Run(ctx, s.Changed)
	}()
	s.sync(ctx)
	engineDone := make(chan error, 1)
	go func() { engineDone <- s.engine.Run(ctx, s.emit) }()

	resync := time.NewTicker(resyncEvery)
	defer resync.Stop()
	failures := time.NewTicker(100 * time.Millisecond)
	defer failures.Stop()
	for {
		select {
		case <-ctx.Done():
			return <-engineDone
		case err := <-engineDone:
			return fmt.Errorf("ping: %s engine stopped: %w", s.engine.Name(), err)
		case <-s.changed:
			s.sync(ctx)
		case <-resync.C:
			s.sync(ctx)
		case now := <-failures.C:
			s.reportUnresolved(now)
		}
	}
}

// sync reads the desired targets and updates the engine. Hostnames take the resolver's
// cached answer; a name looked up for the first time joins when its answer comes in
// (the resolver calls Changed), probing its stored address meanwhile if it has one.
func (s *Scheduler) sync(ctx context.Context) {
	desired, err := s.source.ActiveTargets(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("reading targets to probe failed; keeping the current set", "err", err)
		}
		return
	}
	targets := make([]Target, 0, len(desired))
	hosts := map[string]bool{}
	unresolved := map[string]*unresolvedTarget{}
	for _, d := range desired {
		if ip, err := netip.ParseAddr(d.Address); err == nil {
			d.Addr = ip.Unmap()
			targets = append(targets, d.Target)
			continue
		}
		hosts[d.Address] = true
		addr, err, known := s.resolver.Cached(d.Address)
		switch {
		case !known:
			if d.Addr.IsValid() {
				targets = append(targets, d.Target)
			}
		case err == nil:
			if addr != d.Addr {
				if err := s.source.SetTargetIP(ctx, d.ID, addr); err != nil && ctx.Err() == nil {
					s.log.Warn("recording a resolved address failed", "target", d.Address, "err", err)
				}
				d.Addr = addr
			}
			targets = append(targets, d.Target)
		case d.Addr.IsValid():
			// Keep probing the last known address through a DNS failure.
			s.log.Debug("re-resolving failed; probing the last known address", "target", d.Address, "err", err)
			targets = append(targets, d.Target)
		default:
			unresolved[d.ID] = s.unresolvedEntry(d.Target, err)
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
