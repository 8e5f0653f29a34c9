//go:build linux

package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"pingdeck/bench/internal/mdtable"
	"pingdeck/bench/internal/storedonce"
)

// measured is a run's results as they come: the engine at 15 µs per probe, one agent,
// then two, all stored once.
func measured(agentCPU float64) results {
	ok := storedonce.Tally{Want: 59, Targets: 5000, Stored: 5000 * 59}
	agent := func(loc string, cpu float64) agentPhase {
		return agentPhase{Location: loc, Engine: "shared", Mode: "privileged", Use: usage{CPU: cpu, RSS: 58 << 20, Peak: 75 << 20}, Stored: ok, Checked: true}
	}
	counts := storedonce.Windows{Interval: time.Second, K: 59}
	return results{
		Engine: &engineRun{engine: "shared", mode: "privileged", window: time.Minute, results: 300000, use: usage{CPU: 0.075, RSS: 18 << 20, Peak: 18 << 20}},
		Single: &phase{Server: usage{CPU: 0.2}, PostgresCPU: 0.18, WrittenPerSec: 5100, Counts: counts, Agents: []agentPhase{agent("site-1", agentCPU)}},
		All: &phase{Server: usage{CPU: 0.8}, PostgresCPU: math.NaN(), WrittenPerSec: 10000, Waiting: 3, Buffered: 2048, Counts: counts,
			Agents: []agentPhase{agent("site-1", 0.09), agent("site-2", 0.1)}},
		Dropped: map[string]float64{"not_assigned": 0},
	}
}

// cellsOf is a table's rows by their first cell, each a map from heading to cell.
func cellsOf(t *testing.T, tab mdtable.Table) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, r := range tab.Rows {
		if len(r) != len(tab.Header) {
			t.Fatalf("row %q has %d cells for %d headings", r, len(r), len(tab.Header))
		}
		row := map[string]string{}
		for i, h := range tab.Header {
			row[h] = r[i]
		}
		out[r[0]] = row
	}
	return out
}

func TestEngineTable(t *testing.T) {
	for _, tc := range []struct {
		agentCPU float64
		ratio    string
	}{
		{0.0825, "1.10 (within the 1.2× target)"},
		{0.1, "1.33 (over the 1.2× target)"},
	} {
		rows := cellsOf(t, engineTable(measured(tc.agentCPU)))
		if e := rows["engine alone"]; e["probes/s"] != "5,000" || e["µs CPU per probe"] != "15.0" || e["engine (ICMP mode)"] != "shared (privileged)" {
			t.Errorf("engine row %v", e)
		}
		if a := rows["pingdeck agent (site-1)"]; a["× engine alone"] != tc.ratio || a["RSS MiB (peak)"] != "58 (75)" {
			t.Errorf("agent at %v cores: %v, want ratio %q", tc.agentCPU, a, tc.ratio)
		}
	}
	failed := cellsOf(t, engineTable(results{}))
	if failed["engine alone"]["CPU % of a core"] != "—" || failed["pingdeck agent"]["× engine alone"] != "—" {
		t.Errorf("nothing measured: %v", failed)
	}
}

func TestIngestAndAgentTables(t *testing.T) {
	res := measured(0.08)
	rows := cellsOf(t, ingestTable(res, options{n: 5000}))
	one, two := rows["1 × 5,000"], rows["2 × 5,000"]
	if one["results stored/s"] != "5,000" || one["Postgres CPU % of a core"] != "18.0" || one["stored once"] != "ok: 5,000 targets × 59 in their windows" {
		t.Errorf("one agent: %v", one)
	}
	if two["results stored/s"] != "10,000" || two["each agent's CPU % of a core"] != "9.0, 10.0" || two["Postgres CPU % of a core"] != "n/a" ||
		two["waiting at window end"] != "3 batches on the bus, 2 KiB on agents" || two["stored once"] != "ok: 10,000 targets × 59 in their windows" {
		t.Errorf("two agents: %v", two)
	}
	agents := cellsOf(t, agentTable(res.All, options{n: 5000}))
	if a := agents["site-2"]; a["µs CPU per probe"] != "20.0" || a["results stored/s"] != "5,000" {
		t.Errorf("site-2: %v", a)
	}
}

func TestStoredText(t *testing.T) {
	ok := agentPhase{Location: "site-1", Checked: true, Stored: storedonce.Tally{Want: 59, Targets: 5000}}
	bad := agentPhase{Location: "site-2", Checked: true, Stored: storedonce.Tally{Want: 59, Targets: 5000, Off: 1, Missing: 1, Example: "127.64.19.1 has 58"}}
	for _, tc := range []struct {
		name   string
		agents []agentPhase
		want   string
	}{
		{"all ok", []agentPhase{ok, ok}, "ok: 10,000 targets × 59 in their windows"},
		{"one off", []agentPhase{ok, bad}, "site-2: 1 missing (1 of 5000 targets off, e.g. 127.64.19.1 has 58 of 59)"},
		{"not checked", []agentPhase{ok, {Location: "site-3"}}, "—"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := storedText(tc.agents); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWriteReport(t *testing.T) {
	res := measured(0.08)
	res.Dropped = map[string]float64{"not_assigned": 3, "bus_discarded": 0}
	res.Notes = []string{"agent site-2 exit: signal: killed"}
	res.Failure = "verify: connect: refused\nsecond line"
	var b strings.Builder
	h := reportHeader{Date: time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC), Command: "agentbench -n 5000", CPUs: 2, LoadBefore: "0.50", LoadAfter: "3.10",
		Options: options{n: 5000, interval: time.Second, warmup: 15 * time.Second, window: time.Minute}}
	if err := writeReport(&b, h, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	var tables, inTable int
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "| ") && inTable == 0 {
			tables++
		}
		if strings.HasPrefix(l, "|") {
			inTable++
		} else {
			inTable = 0
		}
	}
	if tables != 3 {
		t.Errorf("%d tables, want 3:\n%s", tables, out)
	}
	for _, want := range []string{"5,000 loopback targets each, one probe every 1s", "load average (1 min) 0.50 before, 3.10 after",
		"Command: `agentbench -n 5000`", "Each agent with 2 probing", "- dropped over the run (pingdeck_results_dropped_total): not_assigned 3\n",
		"- note: agent site-2 exit: signal: killed", "- FAILED: verify: connect: refused second line"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
}
