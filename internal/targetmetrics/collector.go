package targetmetrics

import "github.com/prometheus/client_golang/prometheus"

// For is a prometheus.Collector of the series of the groups allowed says yes to (nil:
// every exported group), so one exporter serves each scraper what it may see.
func (e *Exporter) For(allowed func(groupID string) bool) prometheus.Collector {
	return view{e: e, allowed: allowed}
}

type view struct {
	e       *Exporter
	allowed func(groupID string) bool
}

func (v view) Describe(ch chan<- *prometheus.Desc) {
	ch <- requestsDesc
	ch <- durationDesc
	ch <- sendErrorsDesc
}

// Collect copies what it writes under the lock and writes it after, so a slow scrape
// does not hold up the results.
func (v view) Collect(ch chan<- prometheus.Metric) {
	e := v.e
	e.mu.Lock()
	picked := make([]series, 0, len(e.series))
	for k, s := range e.series {
		if v.allowed != nil && !v.allowed(e.targets[k.target].GroupID) {
			continue
		}
		c := *s
		c.buckets = append([]uint64(nil), s.buckets...)
		picked = append(picked, c)
	}
	e.mu.Unlock()
	for i := range picked {
		picked[i].metrics(ch)
	}
}
