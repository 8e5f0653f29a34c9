package alerts

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/bus"
	"pingdeck/internal/store"
	"pingdeck/internal/wire"
)

// EventStore keeps state changes.
type EventStore interface {
	RecordEvents(ctx context.Context, evs []store.TargetEvent) error
}

// Service follows every result on the bus, decides states and stores each change.
// One goroutine (Run) owns the engine.
type Service struct {
	nc      *nats.Conn
	store   EventStore
	log     *slog.Logger
	engine  *Engine
	results chan *nats.Msg
	offline chan []string // locations gone offline, from the registry
	changed *prometheus.CounterVec
	pending []store.TargetEvent // not stored yet (the database was away)
	rules   *rules              // nil: no alert rules (WithRules)
	limits  *thresholds         // nil: the built-in thresholds for all (WithThresholds)
	// rulesHere says whether this replica records state changes and evaluates the
	// rules now (RecordOnlyWhen); nil: always.
	rulesHere func() bool
}

// RecordOnlyWhen makes state changes stored and rules evaluated only while here
// reports true: in a cluster, on the one replica holding the lease, so that each
// change is recorded once. States are decided on every replica (each follows every
// result), so the replica that takes over knows them. Call it before Run.
func (s *Service) RecordOnlyWhen(here func() bool) { s.rulesHere = here }

// resultBuffer is how many result messages may wait for the service; past it NATS
// drops them for the service only (a slow consumer, logged): states lag, nothing else.
const resultBuffer = 8192

// maxPendingEvents bounds the changes kept while the database is away.
const maxPendingEvents = 100_000

// NewService returns a service reading results on nc; Run starts it.
func NewService(nc *nats.Conn, st EventStore, reg prometheus.Registerer, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{nc: nc, store: st, log: log, engine: NewEngine(), results: make(chan *nats.Msg, resultBuffer),
		offline: make(chan []string, 16),
		changed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pingdeck_target_state_changes_total",
			Help: "Targets' changes of state, by the state they changed to."}, []string{"to"})}
	if reg != nil {
		reg.MustRegister(s.changed)
	}
	return s
}

// LocationsChanged takes the registry's news: targets probed from a location that went
// offline become unknown (what it does not probe is not probed, never down).
func (s *Service) LocationsChanged(locs []wire.Location) {
	var off []string
	for _, l := range locs {
		if !l.Online {
			off = append(off, l.Name)
		}
	}
	if len(off) == 0 {
		return
	}
	select {
	case s.offline <- off:
	default:
		s.log.Warn("alerts: offline locations not taken; their targets keep their states until results say otherwise")
	}
}

// Run decides states until ctx ends.
func (s *Service) Run(ctx context.Context) {
	sub, err := s.nc.ChanSubscribe(bus.ResultSubject("*", "*"), s.results)
	if err != nil {
		s.log.Error("alerts: cannot follow results; target states are not decided", "err", err)
		return
	}
	defer sub.Unsubscribe()
	if s.limits != nil {
		s.limits.reload(ctx, time.Now(), s.log.Warn)
	}
	flush := time.NewTicker(time.Second)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			s.save(context.WithoutCancel(ctx))
			return
		case m := <-s.results:
			s.observe(m)
		case locs := <-s.offline:
			for _, loc := range locs {
				s.add(s.engine.SetUnknown(loc, "", time.Now()))
			}
		case now := <-flush.C:
			s.save(ctx)
			if s.limits != nil {
				s.limits.reload(ctx, now, s.log.Warn)
			}
			switch {
			case s.rules == nil:
			case s.rulesHere == nil || s.rulesHere():
				s.rules.evaluate(ctx, s.engine, now, s.log.Warn)
			default:
				s.rules.loaded = false // another replica evaluates; read open alerts anew when this one takes over
			}
		}
	}
}

func (s *Service) observe(m *nats.Msg) {
	if m.Header.Get(bus.RepublishedHeader) != "" {
		return // its first publish came already
	}
	got, err := bus.DecodeResults(m.Subject, m.Data)
	if err != nil || got.GroupID == bus.ProgressGroup {
		return
	}
	for _, r := range got.Results {
		th := DefaultThresholds()
		if s.limits != nil {
			th = s.limits.of(r.GroupID, r.TargetID)
		}
		if tr, ok := s.engine.Observe(r, th); ok {
			s.add([]Transition{tr})
		}
	}
}

func (s *Service) add(trs []Transition) {
	for _, tr := range trs {
		s.changed.WithLabelValues(string(tr.To)).Inc()
		if len(s.pending) >= maxPendingEvents {
			s.log.Warn("alerts: the database has been away too long; a state change is not recorded", "target", tr.TargetID)
			continue
		}
		s.pending = append(s.pending, store.TargetEvent{TargetID: tr.TargetID, GroupID: tr.GroupID, Location: tr.Location,
			From: string(tr.From), To: string(tr.To), At: tr.At, LossPct: tr.LossPct, RTTMs: tr.RTTMs, Flapping: tr.Flapping})
	}
}

// save stores the pending changes; on failure they wait for the next try.
func (s *Service) save(ctx context.Context) {
	if s.rulesHere != nil && !s.rulesHere() {
		s.pending = nil // another replica records them
		return
	}
	if len(s.pending) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for len(s.pending) > 0 {
		n := min(len(s.pending), 500)
		if err := s.store.RecordEvents(ctx, s.pending[:n]); err != nil {
			s.log.Warn("alerts: storing state changes failed; retrying", "count", len(s.pending), "err", err)
			return
		}
		s.pending = s.pending[n:]
	}
	s.pending = nil
}
