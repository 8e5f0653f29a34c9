package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/ping"
)

// ResultMetrics count the result path, from publisher to database writer.
type ResultMetrics struct {
	Published     prometheus.Counter // results published
	Bytes         prometheus.Counter // bytes of result messages published
	PublishErrors prometheus.Counter // batches whose publish failed or was not confirmed
	// Dropped counts results that will never be stored, by reason.
	Dropped *prometheus.CounterVec
}

// NewResultMetrics makes the result path's metrics, registered with reg when not nil.
func NewResultMetrics(reg prometheus.Registerer) *ResultMetrics {
	m := &ResultMetrics{
		Published: prometheus.NewCounter(prometheus.CounterOpts{Name: "pingdeck_bus_results_published_total", Help: "Probe results published on the bus."}),
		Bytes:     prometheus.NewCounter(prometheus.CounterOpts{Name: "pingdeck_bus_result_bytes_total", Help: "Bytes of result messages published on the bus (payload and headers)."}),
		PublishErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "pingdeck_bus_publish_errors_total",
			Help: "Result batches whose publish failed or was not confirmed by the stream."}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pingdeck_results_dropped_total",
			Help: "Probe results that will never be stored, by reason."}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.Published, m.Bytes, m.PublishErrors, m.Dropped)
	}
	return m
}

// Reasons results are dropped, as the label of pingdeck_results_dropped_total.
const (
	// DropBacklog: the publisher held MaxPending results the bus had not taken.
	DropBacklog = "publish_backlog"
	// DropBusUnavailable: the bus refused the publish outright.
	DropBusUnavailable = "bus_unavailable"
	// DropDiscarded: the results never reached the writer: the stream dropped them
	// past its limits (--bus-max-mb, --bus-max-age), or a publish that was not
	// confirmed did not get through.
	DropDiscarded = "bus_discarded"
	// DropUndecodable: a message on a result subject the writer cannot read.
	DropUndecodable = "undecodable"
	// DropUnknownLocation: results from a location this server does not store: neither
	// its own nor an enrolled agent's (one revoked while its results were on the bus).
	DropUnknownLocation = "unknown_location"
	// DropNotAssigned: an agent's results for a group not probed from its location, or
	// for a target not in the group.
	DropNotAssigned = "not_assigned"
)

// PublisherOptions tune a ResultPublisher; zero values take the defaults.
type PublisherOptions struct {
	Location   string        // where the prober is, a subject token; "local"
	FlushEvery time.Duration // longest a result waits to be published, 25 ms
	MaxBatch   int           // results in one message at most, 1000
	MaxPending int           // results waiting to be published; more are dropped, 200,000
	Metrics    *ResultMetrics
	Logger     *slog.Logger
}

// ResultPublisher batches a prober's results per group and publishes them on the
// bus. Submit never blocks the prober; Run publishes.
type ResultPublisher struct {
	js     jetstream.JetStream // its own context, so failed publishes are counted here
	o      PublisherOptions
	source string

	mu      sync.Mutex
	pending map[string][]ping.Result // by group
	held    int
	full    chan struct{} // a group holds MaxBatch: publish now
	// unconfirmed are batches the stream did not confirm (its leader changing, in a
	// cluster), for Run to publish again; past its bound one is given up (counted).
	unconfirmed chan *nats.Msg

	// Run's own.
	again       map[string]retried // by message ID: batches to publish again
	seq, before uint64
	marked      uint64    // before, as the last progress mark said it
	warned      time.Time // the last failed publish logged: at most one in 10 s
}

// RepublishedHeader marks a batch published again because the stream did not confirm
// it: its first publish reached the live subscribers already, so they skip this one
// (the stream keeps one of the two, by message ID).
const RepublishedHeader = "Pingdeck-Republished"

// retried is an unconfirmed batch waiting to be published again.
type retried struct {
	msg   *nats.Msg
	since time.Time // first not confirmed
}

// Republishing unconfirmed batches: every retryEvery, for up to retryFor (within the
// stream's 2-minute duplicates window, so a batch that did get through is dropped as a
// duplicate), at most maxUnconfirmed waiting.
const (
	retryEvery     = 250 * time.Millisecond
	retryFor       = 90 * time.Second
	maxUnconfirmed = 8192
)

// progressEvery is how often a publisher that published since says how far it got, in
// a batch without results on ProgressGroup: the newest message of a source the stream
// keeps, so that the writer counts results dropped after the source's last batch too.
const progressEvery = time.Second

// NewResultPublisher returns a publisher on b; call Run to start it.
func (b *Bus) NewResultPublisher(o PublisherOptions) (*ResultPublisher, error) {
	if o.Location == "" {
		o.Location = LocalLocation
	}
	if !validToken(o.Location) {
		return nil, fmt.Errorf("bus: location %q cannot be a subject token (no dots, spaces or wildcards)", o.Location)
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = 25 * time.Millisecond
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 200_000
	}
	if o.Metrics == nil {
		o.Metrics = NewResultMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	p := &ResultPublisher{o: o, source: hex.EncodeToString(id), pending: map[string][]ping.Result{}, full: make(chan struct{}, 1),
		unconfirmed: make(chan *nats.Msg, maxUnconfirmed), again: map[string]retried{}}
	js, err := jetstream.New(b.nc,
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncTimeout(10*time.Second),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			p.o.Metrics.PublishErrors.Inc()
			select {
			case p.unconfirmed <- m:
				p.o.Logger.Debug("bus: a result batch was not confirmed; publishing it again", "subject", m.Subject, "err", err)
			default:
				p.o.Logger.Warn("bus: a result batch was not confirmed and too many wait to be published again; if it was lost, the writer counts it", "subject", m.Subject, "err", err)
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("bus: JetStream: %w", err)
	}
	p.js = js
	return p, nil
}

// Submit takes one result to publish with its group's next batch. It never waits:
// when MaxPending results wait already, the result is dropped and counted.
func (p *ResultPublisher) Submit(r ping.Result) {
	p.mu.Lock()
	if p.held >= p.o.MaxPending {
		p.mu.Unlock()
		p.o.Metrics.Dropped.WithLabelValues(DropBacklog).Inc()
		return
	}
	batch := append(p.pending[r.GroupID], r)
	p.pending[r.GroupID] = batch
	p.held++
	p.mu.Unlock()
	if len(batch) == p.o.MaxBatch {
		select {
		case p.full <- struct{}{}:
		default:
		}
	}
}

// Run publishes every FlushEvery (and whenever a group has a full batch) until ctx
// ends; then it publishes what is left and waits, up to 5 s, for the stream to confirm.
func (p *ResultPublisher) Run(ctx context.Context) {
	t := time.NewTicker(p.o.FlushEvery)
	defer t.Stop()
	mark := time.NewTicker(progressEvery)
	defer mark.Stop()
	retry := time.NewTicker(retryEvery)
	defer retry.Stop()
	for {
		select {
		case m := <-p.unconfirmed:
			p.keepForRetry(m)
		case <-retry.C:
			p.republish()
		case <-t.C:
			p.flush()
		case <-p.full:
			p.flush()
		case <-mark.C:
			p.markProgress()
		case <-ctx.Done():
			p.flush()
			p.markProgress()
			p.republish()
			select {
			case <-p.js.PublishAsyncComplete():
			case <-time.After(5 * time.Second):
				p.o.Logger.Warn("bus: result batches still unconfirmed at shutdown", "batches", p.js.PublishAsyncPending())
			}
			return
		}
	}
}

// flush publishes everything waiting, one message per group and MaxBatch results.
func (p *ResultPublisher) flush() {
	p.mu.Lock()
	if p.held == 0 {
		p.mu.Unlock()
		return
	}
	waiting := p.pending
	p.pending, p.held = make(map[string][]ping.Result, len(waiting)), 0
	p.mu.Unlock()
	for group, rs := range waiting {
		for len(rs) > 0 {
			n := min(len(rs), p.o.MaxBatch)
			p.publish(group, rs[:n])
			rs = rs[n:]
		}
	}
}

// markProgress publishes a batch without results saying how many this source has
// published, when that changed since the last mark.
func (p *ResultPublisher) markProgress() {
	if p.before != p.marked {
		p.publish(ProgressGroup, nil)
		p.marked = p.before
	}
}

// publish sends one batch. Its message ID (source and sequence) lets JetStream drop
// a copy published twice.
func (p *ResultPublisher) publish(group string, rs []ping.Result) {
	if !validToken(group) {
		p.o.Metrics.Dropped.WithLabelValues(DropUndecodable).Add(float64(len(rs)))
		p.o.Logger.Error("bus: results of a group whose ID cannot be a subject token; not published", "group", group, "count", len(rs))
		return
	}
	data, err := encodeBatch(p.source, p.before, rs)
	if err != nil {
		p.o.Metrics.Dropped.WithLabelValues(DropUndecodable).Add(float64(len(rs)))
		p.o.Logger.Error("bus: encoding results", "err", err)
		return
	}
	p.seq++
	m := &nats.Msg{Subject: ResultSubject(p.o.Location, group), Data: data, Header: nats.Header{}}
	id := fmt.Sprintf("%s-%d", p.source, p.seq)
	if _, err := p.js.PublishMsgAsync(m, jetstream.WithMsgID(id)); err != nil {
		// Not sent: Before stays, so the writer sees no gap for these; they are counted here.
		p.o.Metrics.PublishErrors.Inc()
		p.o.Metrics.Dropped.WithLabelValues(DropBusUnavailable).Add(float64(len(rs)))
		if time.Since(p.warned) > 10*time.Second {
			p.warned = time.Now()
			p.o.Logger.Warn("bus: results not published (counted in pingdeck_results_dropped_total)", "group", group, "count", len(rs), "err", err)
		}
		return
	}
	p.before += uint64(len(rs))
	p.o.Metrics.Published.Add(float64(len(rs)))
	p.o.Metrics.Bytes.Add(float64(len(data) + len(m.Subject) + len(id) + len("Nats-Msg-Id")))
}

// keepForRetry holds an unconfirmed batch to publish again.
func (p *ResultPublisher) keepForRetry(m *nats.Msg) {
	id := m.Header.Get(jetstream.MsgIDHeader)
	if _, ok := p.again[id]; !ok {
		p.again[id] = retried{msg: m, since: time.Now()}
	}
}

// republish publishes the unconfirmed batches again, with their message IDs (the
// stream drops one that got through after all); one unconfirmed for retryFor is
// given up: the writer counts it from the gap it leaves.
func (p *ResultPublisher) republish() {
	for len(p.unconfirmed) > 0 {
		p.keepForRetry(<-p.unconfirmed)
	}
	for id, r := range p.again {
		if time.Since(r.since) > retryFor {
			delete(p.again, id)
			p.o.Logger.Warn("bus: a result batch stayed unconfirmed; given up (the writer counts it if it was lost)", "subject", r.msg.Subject, "for", retryFor)
			continue
		}
		h := nats.Header{}
		for k, v := range r.msg.Header {
			h[k] = v
		}
		h.Set(RepublishedHeader, "1")
		m := &nats.Msg{Subject: r.msg.Subject, Data: r.msg.Data, Header: h}
		if _, err := p.js.PublishMsgAsync(m); err != nil {
			continue // still no bus: the next round tries again
		}
		delete(p.again, id) // in flight again: an error brings it back
	}
}
