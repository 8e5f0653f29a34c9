// Package promtext reads a pingdeck process's /metrics (the Prometheus text exposition
// format) for the benchmarks: the series they need, summed or by one label.
package promtext

import (
	"math"
	"strconv"
	"strings"
)

// Sample is one series of a scrape: a metric name, its labels and its value.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Metrics is one scrape.
type Metrics []Sample

// Parse reads the text exposition format; comments, blank lines and lines it cannot
// read are skipped.
func Parse(text string) Metrics {
	var out Metrics
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
func parseSample(line string) (Sample, bool) {
	s := Sample{Labels: map[string]string{}}
	end := strings.IndexAny(line, "{ \t")
	if end <= 0 {
		return s, false
	}
	s.Name = line[:end]
	rest := line[end:]
	if rest[0] == '{' {
		var ok bool
		if rest, ok = parseLabels(rest[1:], s.Labels); !ok {
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
	s.Value = v
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

// Sum adds up every series of the metric name; NaN when the scrape has none (a binary
// that does not export it).
func (m Metrics) Sum(name string) float64 {
	total, found := 0.0, false
	for _, s := range m {
		if s.Name == name {
			total += s.Value
			found = true
		}
	}
	if !found {
		return math.NaN()
	}
	return total
}

// ByLabel sums the metric name's series per value of one label.
func (m Metrics) ByLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range m {
		if s.Name == name {
			out[s.Labels[label]] += s.Value
		}
	}
	return out
}

// Has says whether the scrape holds the metric.
func (m Metrics) Has(name string) bool { return !math.IsNaN(m.Sum(name)) }
