package ping

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	probing "github.com/prometheus-community/pro-bing"
)

// recycleAfter is how many probes one pro-bing Pinger sends before it is replaced, so
// its per-sequence bookkeeping stays small.
const recycleAfter = 600

// Probing is the portable engine: one pro-bing Pinger per target. It is the reference
// for correctness; the shared engine is the one that scales.
type Probing struct {
	privileged bool
	metrics    *Metrics
	log        *slog.Logger

	mu      sync.Mutex
	targets map[string]Target
	running map[string]*probingTarget // set while Run runs
	start   func(Target) *probingTarget
}

// probingTarget is one target's goroutine.
type probingTarget struct {
	target Target
	cancel context.CancelFunc
}

var _ Engine = (*Probing)(nil)

// NewProbing returns the pro-bing engine in the given mode (ModeAuto detects it).
func NewProbing(mode Mode, metrics *Metrics, log *slog.Logger) (*Probing, error) {
	m, err := DetectMode(mode)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Probing{privileged: m == ModePrivileged, metrics: metrics, log: log, targets: map[string]Target{}}, nil
}

// Name implements Engine.
func (p *Probing) Name() string { return "probing" }

// Mode is the ICMP mode the engine uses.
func (p *Probing) Mode() Mode {
	if p.privileged {
		return ModePrivileged
	}
	return ModeUnprivileged
}

// Update implements Engine.
func (p *Probing) Update(targets []Target) {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := make(map[string]Target, len(targets))
	for _, t := range targets {
		next[t.ID] = t
	}
	p.targets = next
	if p.running == nil {
		return
	}
	for id, rt := range p.running {
		if t, ok := next[id]; !ok || t != rt.target {
			rt.cancel()
			delete(p.running, id)
		}
	}
	for id, t := range next {
		if p.running[id] == nil {
			p.running[id] = p.start(t)
		}
	}
	if p.metrics != nil {
		p.metrics.Targets.WithLabelValues(p.Name()).Set(float64(len(p.running)))
	}
}

// Run implements Engine.
func (p *Probing) Run(ctx context.Context, emit func(Result)) error {
	var wg sync.WaitGroup
	p.mu.Lock()
	p.running = map[string]*probingTarget{}
	p.start = func(t Target) *probingTarget {
		tctx, cancel := context.WithCancel(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.probeTarget(tctx, t, emit)
		}()
		return &probingTarget{target: t, cancel: cancel}
	}
	p.mu.Unlock()
	p.Update(p.currentTargets())

	<-ctx.Done()
	p.mu.Lock()
	for _, rt := range p.running {
		rt.cancel()
	}
	p.running, p.start = nil, nil
	p.mu.Unlock()
	wg.Wait()
	return nil
}

func (p *Probing) currentTargets() []Target {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Target, 0, len(p.targets))
	for _, t := range p.targets {
		out = append(out, t)
	}
	return out
}

// probeTarget runs Pingers for t back to back, each for recycleAfter probes, with the
// first send of each aligned to the target's phase.
func (p *Probing) probeTarget(ctx context.Context, t Target, emit func(Result)) {
	for ctx.Err() == nil {
		slot := nextSlot(time.Now(), t.Interval, Phase(t.ID, t.Interval))
		if !sleepUntil(ctx, slot) {
			return
		}
		p.runPinger(ctx, t, emit, slot)
	}
}

// nextSlot is the first time after now that is phase past a multiple of interval.
func nextSlot(now time.Time, interval, phase time.Duration) time.Time {
	slot := now.Truncate(interval).Add(phase)
	for !slot.After(now) {
		slot = slot.Add(interval)
	}
	return slot
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// runPinger sends up to recycleAfter probes with one Pinger. Every probe yields one
// Result: a reply within the timeout, or a loss once the deadline has passed (noticed
// at the next send, or when the Pinger ends).
func (p *Probing) runPinger(ctx context.Context, t Target, emit func(Result), slot time.Time) {
	pg := probing.New(t.Addr.String())
	pg.SetIPAddr(&net.IPAddr{IP: t.Addr.AsSlice()})
	pg.SetPrivileged(p.privileged)
	pg.SetLogger(probing.NoopLogger{})
	pg.RecordRtts, pg.RecordTTLs = false, false
	pg.Interval, pg.Count, pg.Size = t.Interval, recycleAfter, max(t.Size, 24)
	pg.Timeout = time.Duration(recycleAfter-1)*t.Interval + t.Timeout

	tr := newInflight(t, p.Name(), p.metrics, emit, slot)
	pg.OnSend = func(pkt *probing.Packet) { tr.sent(pkt.Seq, time.Now()) }
	pg.OnRecv = func(pkt *probing.Packet) { tr.received(pkt.Seq, pkt.Rtt) }
	pg.OnSendError = func(pkt *probing.Packet, err error) { tr.sendFailed(time.Now(), err) }
	if err := pg.RunWithContext(ctx); err != nil && ctx.Err() == nil {
		tr.sendFailed(time.Now(), err)
		p.log.Debug("pinger stopped", "target", t.Addr, "err", err)
		sleepUntil(ctx, time.Now().Add(t.Interval)) // do not spin on a target that cannot be sent to
	}
	tr.finish(ctx.Err() != nil)
}
