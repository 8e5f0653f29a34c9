package promtext

import (
	"math"
	"testing"
)

const exampleScrape = `# HELP pingdeck_bus_results_published_total Probe results published on the bus.
# TYPE pingdeck_bus_results_published_total counter
pingdeck_bus_results_published_total 120000
pingdeck_bus_result_bytes_total 4.5e+06
pingdeck_results_dropped_total{reason="publish_backlog"} 7
pingdeck_results_dropped_total{reason="bus_discarded"} 3
pingdeck_bus_stream_messages{stream="PINGDECK_RESULTS"} 2 1700000000000
pingdeck_http_requests_total{route="/api/v1/groups/{id}",method="GET",note="a \"quoted\", spaced } value"} 5

not a metric line
`

func TestParse(t *testing.T) {
	m := Parse(exampleScrape)
	for _, tc := range []struct {
		name string
		want float64
	}{
		{"pingdeck_bus_results_published_total", 120000},
		{"pingdeck_bus_result_bytes_total", 4.5e6},
		{"pingdeck_results_dropped_total", 10}, // summed over reasons
		{"pingdeck_bus_stream_messages", 2},
		{"pingdeck_http_requests_total", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.Sum(tc.name); got != tc.want {
				t.Errorf("Sum = %v, want %v", got, tc.want)
			}
		})
	}
	if got := m.Sum("pingdeck_results_written_total"); !math.IsNaN(got) || m.Has("pingdeck_results_written_total") {
		t.Errorf("a metric the scrape lacks sums to %v (Has: %v), want NaN", got, m.Has("pingdeck_results_written_total"))
	}
	byReason := m.ByLabel("pingdeck_results_dropped_total", "reason")
	if byReason["publish_backlog"] != 7 || byReason["bus_discarded"] != 3 || len(byReason) != 2 {
		t.Errorf("dropped by reason = %v", byReason)
	}
	for _, s := range m {
		if s.Name == "pingdeck_http_requests_total" {
			if got := s.Labels["note"]; got != `a "quoted", spaced } value` {
				t.Errorf("quoted label value read as %q", got)
			}
			if s.Labels["route"] != "/api/v1/groups/{id}" || s.Labels["method"] != "GET" {
				t.Errorf("labels read as %v", s.Labels)
			}
		}
	}
}

func TestParseSampleRejectsBrokenLines(t *testing.T) {
	for _, line := range []string{
		`name{label="unterminated} 1`,
		`name{label=unquoted} 1`,
		`name{label="v"}`,
		`name notanumber`,
		`{label="v"} 1`,
	} {
		if s, ok := parseSample(line); ok {
			t.Errorf("%q parsed as %+v", line, s)
		}
	}
}
