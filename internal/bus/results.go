package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/ping"
)

// Results travel as batches, one group's results a message, on
// pingdeck.v1.results.<location>.<group>: JetStream's ResultStream keeps them for the
// database writer (a durable consumer) and core NATS hands them to every hub following
// the group. PROTOCOL.md ("Bus") documents the message and the stream.
const (
	resultSubjectPrefix = "pingdeck.v1.results."
	// ResultSubjects matches every result subject.
	ResultSubjects = resultSubjectPrefix + ">"
	// ResultStream is the JetStream stream that holds results until they are stored.
	ResultStream = "PINGDECK_RESULTS"
	// LocalLocation is where the server's own prober probes from.
	LocalLocation = "local"
	// ProgressGroup stands for the group in the subject of a publisher's progress mark:
	// a batch with no results whose Before says how many the source has published.
	ProgressGroup = "_progress"
	// dedupWindow is how long JetStream remembers message IDs to drop a republished batch.
	dedupWindow = 2 * time.Minute
)

// ResultSubject is the subject a prober at location publishes group's results on.
func ResultSubject(location, groupID string) string {
	return resultSubjectPrefix + location + "." + groupID
}

// validToken reports whether s can be one token of a subject: not empty, no dots,
// wildcards or whitespace.
func validToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".*> \t\r\n")
}

// ResultBatch is one message on a result subject: results of one group from one
// prober. Before lets the consumer count what the bus dropped: it is how many results
// the same Source had published before this batch, so a jump says how many never
// arrived.
type ResultBatch struct {
	// Source names the publisher: one run of one prober. A restart is a new source.
	Source  string       `json:"source"`
	Before  uint64       `json:"before"`
	Results []WireResult `json:"results"`
}

// WireResult is one probe's result in a ResultBatch.
type WireResult struct {
	Target string `json:"target"`
	SentUs int64  `json:"sent_us"`          // when the probe was sent, unix µs
	OK     bool   `json:"ok,omitempty"`     // an answer came
	RTTUs  int64  `json:"rtt_us,omitempty"` // its round trip, µs, when OK
	Err    string `json:"err,omitempty"`    // why it failed: "timeout", "resolve …", "send: …"
}

// maxErrBytes bounds a failure reason as it is kept.
const maxErrBytes = 200

// Received is a decoded result message.
type Received struct {
	Location, GroupID string
	Source            string
	Before            uint64
	Results           []ping.Result
	// Refused is how many of the batch's results its reader set aside (not stored,
	// counted): the batch still accounts for them in its source's progress.
	Refused int
}

// encodeBatch is the message for results of one group.
func encodeBatch(source string, before uint64, rs []ping.Result) ([]byte, error) {
	b := ResultBatch{Source: source, Before: before, Results: make([]WireResult, len(rs))}
	for i := range rs {
		r := &rs[i]
		w := &b.Results[i]
		w.Target, w.SentUs, w.OK, w.Err = r.TargetID, r.SentAt.UnixMicro(), r.OK, r.Err
		if r.OK {
			w.RTTUs = r.RTT.Microseconds()
		}
	}
	return json.Marshal(b)
}

// DecodeResults reads a result message published on subject.
func DecodeResults(subject string, data []byte) (Received, error) {
	rest, ok := strings.CutPrefix(subject, resultSubjectPrefix)
	location, group, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || !validToken(location) || !validToken(group) {
		return Received{}, fmt.Errorf("bus: %q is not a result subject (%s<location>.<group>)", subject, resultSubjectPrefix)
	}
	var b ResultBatch
	if err := json.Unmarshal(data, &b); err != nil {
		return Received{}, fmt.Errorf("bus: result message on %s: %w", subject, err)
	}
	out := Received{Location: location, GroupID: group, Source: b.Source, Before: b.Before, Results: make([]ping.Result, len(b.Results))}
	for i, w := range b.Results {
		if err := uuid.Validate(w.Target); err != nil || w.SentUs <= 0 {
			return Received{}, fmt.Errorf("bus: result message on %s: result %d needs a target ID (a UUID) and a send time", subject, i)
		}
		if len(w.Err) > maxErrBytes {
			w.Err = w.Err[:maxErrBytes]
		}
		out.Results[i] = ping.Result{TargetID: w.Target, GroupID: group, Location: location, SentAt: time.UnixMicro(w.SentUs).UTC(),
			OK: w.OK, Err: w.Err, RTT: time.Duration(w.RTTUs) * time.Microsecond}
	}
	return out, nil
}

// StreamLimits bound what the result stream holds while the database does not take
// it: past either, the oldest results are dropped (and counted by the writer).
type StreamLimits struct {
	MaxBytes int64
	MaxAge   time.Duration
	// ConsumerInMemory keeps the consumer's state in memory rather than on disk: a
	// work queue deletes what is acked, so after a restart the consumer, made anew,
	// starts at what is left. It saves a state file write per flush (an agent's buffer).
	ConsumerInMemory bool
	// SoleWriter says no other process writes from this stream (one server, not
	// replicas): batches an earlier run held unacked when it died are delivered again
	// at once (the consumer is made anew) instead of after the ack wait.
	SoleWriter bool
}

// WriterConsumer is the durable consumer the database writers share.
const WriterConsumer = "pingdeck-writer"

// writerAckWait is how long a fetched batch stays the writer's without an ack before
// JetStream hands it out again. The writer holds a batch until the blocks of its
// results are stored: up to the block span (5 min) and its grace.
const writerAckWait = 10 * time.Minute

// writerMaxAckPending bounds the batches the writers hold unacked: at 20,000 results/s
// in 25 ms batches per group, about six minutes of them.
const writerMaxAckPending = 1 << 20

// OpenResults makes sure the result stream (with limits lim) and the writers' durable
// consumer on it exist, and returns both. A damaged store is repaired as far as it
// takes, each step logged: a consumer that cannot be loaded is made anew (the stream's
// batches are all delivered to it again; storing them twice is harmless); a stream
// that cannot be loaded is deleted and made anew, losing what waited in it.
func (b *Bus) OpenResults(ctx context.Context, lim StreamLimits) (jetstream.Stream, jetstream.Consumer, error) {
	var s jetstream.Stream
	err := b.RetryTransient(ctx, "the result stream", func(ctx context.Context) (err error) {
		s, err = b.ensureResultStream(ctx, lim)
		return err
	})
	if err == nil {
		var c jetstream.Consumer
		cerr := b.RetryTransient(ctx, "the writers' consumer", func(ctx context.Context) (err error) {
			c, err = b.writerConsumer(ctx, s, lim.ConsumerInMemory)
			return err
		})
		if cerr == nil && lim.SoleWriter {
			c, cerr = b.reclaimHeld(ctx, s, c, lim.ConsumerInMemory)
		}
		if cerr == nil {
			return s, c, nil
		}
		if transient(cerr) {
			return nil, nil, fmt.Errorf("bus: JetStream did not make the writers' consumer in time (in a cluster: are most replicas up?): %w", cerr)
		}
		b.log.Error("bus: the result writers' consumer is damaged; making it anew (batches still waiting are delivered again)", "err", cerr)
		if derr := s.DeleteConsumer(ctx, WriterConsumer); derr != nil && !errors.Is(derr, jetstream.ErrConsumerNotFound) {
			b.log.Warn("bus: deleting the damaged consumer", "err", derr)
		}
		if c, cerr = b.writerConsumer(ctx, s, lim.ConsumerInMemory); cerr == nil {
			return s, c, nil
		}
		err = cerr
	}
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) || transient(err) {
		return nil, nil, fmt.Errorf("bus: JetStream is not available on this NATS (an external server needs it on: nats-server -js; in a cluster, most replicas must be up): %w", err)
	}
	b.log.Error("bus: the result stream is damaged; deleting it and making it anew (results waiting in it are lost)", "stream", ResultStream, "err", err)
	if derr := b.js.DeleteStream(ctx, ResultStream); derr != nil && !errors.Is(derr, jetstream.ErrStreamNotFound) {
		b.log.Warn("bus: deleting the damaged stream", "err", derr)
	}
	if s, err = b.ensureResultStream(ctx, lim); err != nil {
		return nil, nil, err
	}
	c, err := b.writerConsumer(ctx, s, lim.ConsumerInMemory)
	if err != nil {
		return nil, nil, err
	}
	return s, c, nil
}

// ensureResultStream creates the result stream, or updates its limits to lim.
func (b *Bus) ensureResultStream(ctx context.Context, lim StreamLimits) (jetstream.Stream, error) {
	if lim.MaxBytes <= 0 || lim.MaxAge <= 0 {
		return nil, errors.New("bus: the result stream needs a byte limit and an age limit")
	}
	s, err := b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        ResultStream,
		Description: "pingdeck probe results waiting to be stored",
		Subjects:    []string{ResultSubjects},
		// A work queue: a batch is removed once the writer acks it, so the stream holds
		// only what is not stored yet, and its limits bound exactly that.
		Retention:  jetstream.WorkQueuePolicy,
		Discard:    jetstream.DiscardOld,
		Storage:    jetstream.FileStorage,
		MaxBytes:   lim.MaxBytes,
		MaxAge:     lim.MaxAge,
		Duplicates: dedupWindow,
		Replicas:   b.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: result stream %s: %w", ResultStream, err)
	}
	return s, nil
}

// writerConsumer creates (or finds) the writers' durable consumer on the result
// stream: explicit acks, redelivered without limit until stored.
func (b *Bus) writerConsumer(ctx context.Context, s jetstream.Stream, inMemory bool) (jetstream.Consumer, error) {
	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       WriterConsumer,
		Description:   "pingdeck database writers: ack after commit",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       writerAckWait,
		MaxDeliver:    -1,
		MaxAckPending: writerMaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MemoryStorage: inMemory,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: consumer %s on %s: %w", WriterConsumer, ResultStream, err)
	}
	return c, nil
}

// reclaimHeld makes the writers' consumer anew when an earlier run died holding
// batches unacked, so that they are delivered again now (a work queue keeps only
// what was not acked, so the new consumer starts at exactly those).
func (b *Bus) reclaimHeld(ctx context.Context, s jetstream.Stream, c jetstream.Consumer, inMemory bool) (jetstream.Consumer, error) {
	info, err := c.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.NumAckPending == 0 {
		return c, nil
	}
	b.log.Info("bus: an earlier run held result batches it had not stored; delivering them again", "batches", info.NumAckPending)
	if err := s.DeleteConsumer(ctx, WriterConsumer); err != nil {
		return nil, err
	}
	return b.writerConsumer(ctx, s, inMemory)
}

// ReclaimWriterBatches has the batches an earlier writer held unacked delivered again
// now rather than after the ack wait (the consumer is made anew): for the replica that
// takes the writer's lease over from one that died holding them. Only the sole writer
// may call it.
func (b *Bus) ReclaimWriterBatches(ctx context.Context) error {
	s, err := b.js.Stream(ctx, ResultStream)
	if err != nil {
		return fmt.Errorf("bus: result stream: %w", err)
	}
	c, err := s.Consumer(ctx, WriterConsumer)
	if err != nil {
		return fmt.Errorf("bus: consumer %s: %w", WriterConsumer, err)
	}
	_, err = b.reclaimHeld(ctx, s, c, false)
	return err
}

// RegisterWriterGauges exports where the writers' consumer c stands:
// pingdeck_bus_writer_undelivered (batches not yet delivered to a writer) and
// pingdeck_bus_writer_held (delivered, held unacked until their blocks are stored),
// read from the server at each scrape. Caught up means nothing undelivered.
func RegisterWriterGauges(reg prometheus.Registerer, c jetstream.Consumer) {
	reg.MustRegister(&infoGauges{
		descs: []*prometheus.Desc{
			prometheus.NewDesc("pingdeck_bus_writer_undelivered", "Result batches on the bus not yet delivered to a database writer.", nil, nil),
			prometheus.NewDesc("pingdeck_bus_writer_held", "Result batches delivered to a writer and held unacked until the blocks of their results are stored.", nil, nil),
		},
		read: func(ctx context.Context) ([]float64, error) {
			i, err := c.Info(ctx)
			if err != nil {
				return nil, err
			}
			return []float64{float64(i.NumPending), float64(i.NumAckPending)}, nil
		},
	})
}

// RegisterStreamGauges exports what waits in s: pingdeck_bus_stream_messages and
// pingdeck_bus_stream_bytes, read from the server at each scrape.
func RegisterStreamGauges(reg prometheus.Registerer, s jetstream.Stream) {
	labels := prometheus.Labels{"stream": s.CachedInfo().Config.Name}
	reg.MustRegister(&infoGauges{
		descs: []*prometheus.Desc{
			prometheus.NewDesc("pingdeck_bus_stream_messages", "Messages (result batches) waiting in the stream.", nil, labels),
			prometheus.NewDesc("pingdeck_bus_stream_bytes", "Bytes waiting in the stream.", nil, labels),
		},
		read: func(ctx context.Context) ([]float64, error) {
			i, err := s.Info(ctx)
			if err != nil {
				return nil, err
			}
			return []float64{float64(i.State.Msgs), float64(i.State.Bytes)}, nil
		},
	})
}

// infoGauges are gauges read from the server with one question per scrape, bounded
// by gaugeWait. When the bus does not answer they are left out of the scrape rather
// than shown as 0 (nothing waiting would be untrue), and a scrape during an outage
// stays short.
type infoGauges struct {
	descs []*prometheus.Desc
	read  func(ctx context.Context) ([]float64, error) // one value per desc
}

// gaugeWait bounds the server's answer to one scrape's question.
const gaugeWait = time.Second

func (g *infoGauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range g.descs {
		ch <- d
	}
}

func (g *infoGauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), gaugeWait)
	defer cancel()
	values, err := g.read(ctx)
	if err != nil {
		return
	}
	for i, d := range g.descs {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, values[i])
	}
}
