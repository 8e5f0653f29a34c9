package targetmetrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// Buckets are smokeping_prober's default histogram buckets (its --buckets flag), in
// seconds: 50 µs doubling up to 26.2 s, so its dashboards' quantiles read the same.
var Buckets = []float64{5e-05, 0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.0032, 0.0064, 0.0128,
	0.0256, 0.0512, 0.1024, 0.2048, 0.4096, 0.8192, 1.6384, 3.2768, 6.5536, 13.1072, 26.2144}

// labelNames are smokeping_prober's labels (host, ip, source) and ours (group, location).
var labelNames = []string{"host", "ip", "source", "group", "location"}

// seriesLabels are one series' label values, in labelNames order.
type seriesLabels struct {
	host, ip, source, group, location string
}

func (l seriesLabels) values() []string {
	return []string{l.host, l.ip, l.source, l.group, l.location}
}

// labelsOf labels target t probed from location. host is the address as entered; ip
// is the address probed (empty until a hostname resolves); source, smokeping_prober's
// source address, is empty: pingdeck lets the system choose it, as smokeping_prober
// does by default, and says where a probe came from in location instead.
func labelsOf(t store.MetricsTarget, location string) seriesLabels {
	l := seriesLabels{host: t.Address, group: t.GroupName, location: location}
	if t.IP.IsValid() {
		l.ip = t.IP.String()
	}
	return l
}

type seriesKey struct {
	target, location string
}

// series is what one target probed from one location has counted since the start.
type series struct {
	labels     seriesLabels
	requests   uint64
	sendErrors uint64
	answers    uint64
	rttSum     float64  // seconds
	buckets    []uint64 // answers per bucket, not cumulative
}

func newSeries(l seriesLabels) *series {
	return &series{labels: l, buckets: make([]uint64, len(Buckets))}
}

func (s *series) observe(r *ping.Result) {
	if sendFailed(r) {
		s.sendErrors++
	}
	if !sent(r) {
		return
	}
	s.requests++
	if !r.OK {
		return
	}
	rtt := r.RTT.Seconds()
	s.answers++
	s.rttSum += rtt
	for i, upper := range Buckets {
		if rtt <= upper {
			s.buckets[i]++
			break
		}
	}
}

var (
	requestsDesc = prometheus.NewDesc("smokeping_requests_total",
		"Counter of pings sent.", labelNames, nil)
	durationDesc = prometheus.NewDesc("smokeping_response_duration_seconds",
		"Ping response duration.", labelNames, nil)
	sendErrorsDesc = prometheus.NewDesc("smokeping_send_errors_total",
		"The number of errors when Pinger attempts to send packets.", labelNames, nil)
)

// metrics writes s's metrics to ch.
func (s *series) metrics(ch chan<- prometheus.Metric) {
	values := s.labels.values()
	ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(s.requests), values...)
	ch <- prometheus.MustNewConstMetric(sendErrorsDesc, prometheus.CounterValue, float64(s.sendErrors), values...)
	cumulative := make(map[float64]uint64, len(Buckets))
	var n uint64
	for i, upper := range Buckets {
		n += s.buckets[i]
		cumulative[upper] = n
	}
	ch <- prometheus.MustNewConstHistogram(durationDesc, s.answers, s.rttSum, cumulative, values...)
}
