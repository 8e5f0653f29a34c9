package ping

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the probe path's Prometheus metrics, labelled by engine.
type Metrics struct {
	Sent       *prometheus.CounterVec   // probes sent
	Received   *prometheus.CounterVec   // replies matched to a probe in time
	Lost       *prometheus.CounterVec   // probes whose deadline passed unanswered
	SendErrors *prometheus.CounterVec   // sends the kernel refused
	Targets    *prometheus.GaugeVec     // targets being probed
	Lag        *prometheus.HistogramVec // how late sends left against their schedule
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	engine := []string{"engine"}
	m := &Metrics{
		Sent:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pingdeck_probes_sent_total", Help: "ICMP echo requests sent."}, engine),
		Received:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pingdeck_probes_received_total", Help: "Echo replies matched to a probe before its timeout."}, engine),
		Lost:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pingdeck_probes_lost_total", Help: "Probes that got no reply before their timeout."}, engine),
		SendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pingdeck_probe_send_errors_total", Help: "Probes the kernel refused to send."}, engine),
		Targets:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pingdeck_probe_targets", Help: "Targets currently probed."}, engine),
		Lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pingdeck_probe_send_lag_seconds",
			Help:    "How late probes were sent against their schedule.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1}}, engine),
	}
	if reg != nil {
		reg.MustRegister(m.Sent, m.Received, m.Lost, m.SendErrors, m.Targets, m.Lag)
	}
	return m
}
