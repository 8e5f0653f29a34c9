//go:build linux

package main

import (
	"strings"
	"testing"
	"time"
)

func TestTableRows(t *testing.T) {
	start := time.Unix(1000, 0)
	win := window{Start: start, End: start.Add(20 * time.Second)}
	measured := row{
		Engine: "shared", Asked: "auto", N: 1000, Expected: 20000,
		engineOutcome: engineOutcome{
			Mode: "privileged", Win: win,
			Stats: probeStats{Probes: 20000, OK: 19998, Lost: 2,
				RTT:        percentiles{N: 19998, P50: 25 * time.Microsecond, P99: 80 * time.Microsecond},
				SampledRTT: percentiles{N: 1250, P50: 30 * time.Microsecond, P99: 90 * time.Microsecond}},
			Usage: usage{CPU: 0.05, SysCPU: 0.03, HostCPU: 0.3, RSS: 12 << 20, PeakRSS: 13 << 20},
		},
		Ref: reference{RTT: percentiles{N: 20000, P50: 20 * time.Microsecond, P99: 100 * time.Microsecond},
			Requests: 1250, Seen: 2500, Every: 16},
	}
	dropped := measured
	dropped.Ref.Dropped = 7
	refused := row{Engine: "fping", N: 20000, Expected: 400000, engineOutcome: engineOutcome{Status: "refused (fping limit)"}}

	tests := []struct {
		name string
		row  row
		want []string
	}{
		{"measured", measured, []string{"shared (auto: privileged)", "1000", "5.0", "12.0", "0.010", "25", "80", "+10", "-10",
			"50.0", "2.0 / 3.0", "13.0", "100.0", "20 / 100", "30", "sniffer saw all 1250 requests to its sample (1 address in 16)"}},
		{"sniffer dropped", dropped, []string{"shared (auto: privileged)", "1000", "5.0", "12.0", "0.010", "25", "80", "+10 (untrusted)", "-10 (untrusted)",
			"50.0", "2.0 / 3.0", "13.0", "100.0", "20 / 100", "30", "sniffer DROPPED 7 of 2500 packets: errors untrusted"}},
		{"refused", refused, []string{"fping", "20000", "refused (fping limit)", "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.row.cells()
			if len(got) != len(tableColumns()) {
				t.Fatalf("%d cells for %d columns", len(got), len(tableColumns()))
			}
			if strings.Join(got, " | ") != strings.Join(tt.want, " | ") {
				t.Errorf("cells:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestWriteReport(t *testing.T) {
	var b strings.Builder
	h := header{Command: "pingbench -n 1000", Date: time.Unix(0, 0), Machine: "nproc 2", Settings: "N targets"}
	rows := []row{{Engine: "probing", N: 20000, engineOutcome: engineOutcome{Status: "skipped (a|b)"}}}
	if err := writeReport(&b, h, rows); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"- command: `pingbench -n 1000`",
		"- date: 1970-01-01T00:00:00Z",
		"| engine | N | CPU % of one core |",
		"| probing | 20000 | skipped (a\\|b) |",
		"distribution-level",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
