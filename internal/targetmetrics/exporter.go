// Package targetmetrics exports per-target probe results for Prometheus, named and
// labelled as smokeping_prober does (smokeping_requests_total,
// smokeping_response_duration_seconds with host, ip and source), plus group and
// location, so smokeping_prober's dashboards work on pingdeck's targets. Only groups
// whose metrics setting is on are exported: every target is a set of series, and the
// cardinality is the group's owner's choice. Values come from the live results on the
// bus and start at zero when the server starts, as smokeping_prober's do.
package targetmetrics

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// Catalogue lists the targets to export: those of the groups whose metrics are on.
type Catalogue interface {
	MetricsTargets(ctx context.Context) ([]store.MetricsTarget, error)
}

// Feed hands over the results of the groups followed (bus.ResultFeed).
type Feed interface {
	Follow(groupID string) error
	Unfollow(groupID string)
	Run(ctx context.Context, deliver func([]ping.Result))
}

// retryAfter is how long a catalogue that could not be read waits to be read again.
const retryAfter = 5 * time.Second

// Exporter counts the results of the exported targets and serves them as metrics
// (see Collector). Run feeds it; HandleChange tells it the catalogue changed.
type Exporter struct {
	catalogue Catalogue
	feed      Feed
	log       *slog.Logger
	// stale holds one pending "read the catalogue again": a change arriving while one
	// is pending is covered by it, so a full channel drops the signal.
	stale chan struct{}

	mu       sync.Mutex
	targets  map[string]store.MetricsTarget // by target ID
	followed map[string]bool                // group IDs
	series   map[seriesKey]*series
}

// New returns an exporter reading its targets from catalogue and results from feed.
func New(catalogue Catalogue, feed Feed, log *slog.Logger) *Exporter {
	return &Exporter{catalogue: catalogue, feed: feed, log: log, stale: make(chan struct{}, 1),
		targets: map[string]store.MetricsTarget{}, followed: map[string]bool{}, series: map[seriesKey]*series{}}
}

// HandleChange marks the catalogue stale when a change may alter which targets are
// exported or their labels. It never blocks.
func (e *Exporter) HandleChange(c groups.Change) {
	switch c.Kind {
	case groups.ChangeGroupCreated, groups.ChangeGroupUpdated, groups.ChangeGroupDeleted,
		groups.ChangeTargets, groups.ChangeUserDeleted:
		e.markStale()
	}
}

func (e *Exporter) markStale() {
	select {
	case e.stale <- struct{}{}:
	default: // a re-read is pending already
	}
}

// Run reads the catalogue, follows its groups' results and counts them, until ctx
// ends; the catalogue is read again after every relevant change.
func (e *Exporter) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { e.feed.Run(ctx, e.Observe) })
	defer wg.Wait()
	e.markStale()
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.stale:
		case <-retry:
		}
		retry = nil
		if err := e.Reload(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			e.log.Warn("target metrics: reading the exported targets; retrying", "err", err, "in", retryAfter)
			retry = time.After(retryAfter)
		}
	}
}

// Reload reads the catalogue: it follows the groups newly exported, unfollows those
// no longer exported, and drops the series of targets gone or relabelled (a new
// address or group name starts a new series at zero).
func (e *Exporter) Reload(ctx context.Context) error {
	list, err := e.catalogue.MetricsTargets(ctx)
	if err != nil {
		return err
	}
	targets := make(map[string]store.MetricsTarget, len(list))
	wanted := map[string]bool{}
	for _, t := range list {
		targets[t.ID] = t
		wanted[t.GroupID] = true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for g := range wanted {
		if !e.followed[g] {
			if err := e.feed.Follow(g); err != nil {
				return err
			}
			e.followed[g] = true
		}
	}
	for g := range e.followed {
		if !wanted[g] {
			e.feed.Unfollow(g)
			delete(e.followed, g)
		}
	}
	e.targets = targets
	for k, s := range e.series {
		if t, ok := targets[k.target]; !ok || s.labels != labelsOf(t, k.location) {
			delete(e.series, k)
		}
	}
	return nil
}

// Observe counts results; those of targets not exported are ignored.
func (e *Exporter) Observe(rs []ping.Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range rs {
		r := &rs[i]
		t, ok := e.targets[r.TargetID]
		if !ok || t.GroupID != r.GroupID {
			continue
		}
		location := r.Location
		if location == "" {
			location = localLocation
		}
		k := seriesKey{target: r.TargetID, location: location}
		s := e.series[k]
		if s == nil {
			s = newSeries(labelsOf(t, location))
			e.series[k] = s
		}
		s.observe(r)
	}
}

// localLocation is what results without a location were probed from (ping.Result).
const localLocation = "local"

// sent reports whether a result stands for a probe that left: answered or timed
// out. The others never did: their target did not resolve or was refused, or the
// send failed (counted as a send error).
func sent(r *ping.Result) bool {
	return r.OK || r.Err == ping.ErrTimeout
}

// sendFailed reports whether the result is a send that failed.
func sendFailed(r *ping.Result) bool {
	return strings.HasPrefix(r.Err, "send")
}
