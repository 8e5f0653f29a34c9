package live

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// msgKind names a message type in the sent-messages metric.
type msgKind int

const (
	kindResults msgKind = iota
	kindSnapshot
	kindControl // hello, group_updated, group_deleted, access_revoked, notification, pong, error
	kindReplay
	numKinds
)

var kindNames = [numKinds]string{"results", "snapshot", "control", "replay"}

// metrics are the live stream's Prometheus series.
type metrics struct {
	clients  prometheus.Gauge
	messages [numKinds]prometheus.Counter
	bytes    prometheus.Counter
	slow     prometheus.Counter
	refused  prometheus.Counter
	dropped  prometheus.Counter
	fanout   prometheus.Histogram
	delivery prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	msgs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pingdeck_live_messages_sent_total", Help: "WebSocket messages written, by type.",
	}, []string{"type"})
	m := &metrics{
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pingdeck_live_clients", Help: "Open live-stream WebSockets."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pingdeck_live_bytes_sent_total", Help: "Payload bytes of WebSocket messages written."}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pingdeck_live_slow_disconnects_total", Help: "Sockets dropped because they could not keep up: too many bytes waiting (closed with 4429), or one write blocked for 10 s."}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pingdeck_live_streams_refused_total", Help: "WebSocket handshakes refused (429) because the user had --max-streams-per-user open."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pingdeck_live_publish_dropped_total", Help: "Probe results not streamed because the hub was behind (they are still stored)."}),
		fanout: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pingdeck_live_fanout_seconds", Help: "Time to cut what arrived and queue the results messages of one flush slot of clients.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25}}),
		delivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pingdeck_live_delivery_seconds", Help: "Time from a results message being queued (its slot flushed) to it being written to the socket.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}),
	}
	for k := range numKinds {
		m.messages[k] = msgs.WithLabelValues(kindNames[k])
	}
	for _, c := range []prometheus.Collector{msgs, m.clients, m.bytes, m.slow, m.refused, m.dropped, m.fanout, m.delivery} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("live: register metrics: %w", err)
		}
	}
	return m, nil
}

// countSent counts a message of n payload bytes that went out whole.
func (h *Hub) countSent(o *outbound, n int) {
	h.m.messages[o.kind].Inc()
	h.m.bytes.Add(float64(n))
	if o.kind == kindResults {
		h.m.delivery.Observe(time.Since(o.flushed).Seconds())
	}
}
