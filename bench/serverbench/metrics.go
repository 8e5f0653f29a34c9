//go:build linux

package main

import (
	"math"
	"strconv"
	"strings"
)

// The server's metrics the benchmark reads. A binary from before the bus lacks the
// bus ones; its cells say n/a.
const (
	metricPublished     = "pingdeck_bus_results_published_total"
	metricBusBytes      = "pingdeck_bus_result_bytes_total"
	metricPublishErrors = "pingdeck_bus_publish_errors_total"
	metricStreamMsgs    = "pingdeck_bus_stream_messages"
	metricWritten       = "pingdeck_results_written_total"
	metricDropped       = "pingdeck_results_dropped_total"
	metricProbesSent    = "pingdeck_probes_sent_total"
)

// sample is one series of a scrape: a metric name, its labels and its value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// metrics is one scrape of /metrics.
type metrics []sample

// parseMetrics reads the Prometheus text exposition format; comments, blank lines and
// lines it cannot read are skipped.
func parseMetrics(text string) metrics {
	var out metrics
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if s, ok := parseSample(line); ok {
			out = append(out, s)
		}
	}
	return out
}

// parseSample reads `name{label="value",…} value [timestamp]`.
func parseSample(line string) (sample, bool) {
	s := sample{labels: map[string]string{}}
	end := strings.IndexAny(line, "{ \t")
	if end <= 0 {
		return s, false
	}
	s.name = line[:end]
	rest := line[end:]
	if rest[0] == '{' {
		var ok bool
		if rest, ok = parseLabels(rest[1:], s.labels); !ok {
			return s, false
		}
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return s, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, false
	}
	s.value = v
	return s, true
}

// parseLabels reads `label="value",…}` (after the opening brace) into into, and
// returns what follows the closing brace. Values are quoted with \\, \" and \n
// escapes and may hold any other character, braces and commas included.
func parseLabels(text string, into map[string]string) (string, bool) {
	for {
		text = strings.TrimLeft(text, " \t,")
		if strings.HasPrefix(text, "}") {
			return text[1:], true
		}
		eq := strings.IndexByte(text, '=')
		if eq <= 0 || len(text) < eq+2 || text[eq+1] != '"' {
			return "", false
		}
		name := strings.TrimSpace(text[:eq])
		var value strings.Builder
		i := eq + 2
		for ; i < len(text) && text[i] != '"'; i++ {
			c := text[i]
			if c == '\\' && i+1 < len(text) {
				i++
				switch text[i] {
				case 'n':
					c = '\n'
				default:
					c = text[i]
				}
			}
			value.WriteByte(c)
		}
		if i >= len(text) {
			return "", false
		}
		into[name] = value.String()
		text = text[i+1:]
	}
}

// sum adds up every series of the metric name; NaN when the scrape has none (a binary
// that does not export it).
func (m metrics) sum(name string) float64 {
	total, found := 0.0, false
	for _, s := range m {
		if s.name == name {
			total += s.value
			found = true
		}
	}
	if !found {
		return math.NaN()
	}
	return total
}

// byLabel sums the metric name's series per value of one label.
func (m metrics) byLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range m {
		if s.name == name {
			out[s.labels[label]] += s.value
		}
	}
	return out
}

// has says whether the scrape holds the metric.
func (m metrics) has(name string) bool { return !math.IsNaN(m.sum(name)) }
