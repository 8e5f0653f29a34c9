//go:build linux

package main

import (
	"math"
	"testing"
	"time"

	"pingdeck/bench/internal/procfs"
	"pingdeck/bench/internal/promtext"
	"pingdeck/bench/internal/storedonce"
)

func TestPhaseBetween(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 0, 0, 250e6, time.UTC)
	start := snapshot{at: at, server: procReading{cpu: 10 * time.Second},
		agents: []procReading{{cpu: time.Second}, {cpu: 2 * time.Second}},
		pgCPU:  5 * time.Second, havePG: true,
		scrape: promtext.Parse("pingdeck_results_written_total 1000\npingdeck_bus_stream_messages 9\n")}
	end := snapshot{at: at.Add(20 * time.Second), server: procReading{cpu: 14 * time.Second, mem: procfs.Memory{RSS: 60 << 20, Peak: 70 << 20}},
		agents: []procReading{{cpu: 3 * time.Second}, {cpu: 5 * time.Second}},
		pgCPU:  8 * time.Second, havePG: true, buffered: 4096,
		scrape: promtext.Parse("pingdeck_results_written_total 201000\npingdeck_bus_stream_messages{stream=\"PINGDECK_RESULTS\"} 2\n")}
	sites := []*site{{location: "site-1", engine: "shared", mode: "privileged"}, {location: "site-2"}}
	ph := phaseBetween(start, end, sites, time.Second)
	if ph.Wall != 20*time.Second || ph.Server.CPU != 0.2 || ph.Server.RSS != 60<<20 || ph.PostgresCPU != 0.15 {
		t.Errorf("wall %s server %+v postgres %v: want 20s, 0.2 cores, 60 MiB, 0.15 cores", ph.Wall, ph.Server, ph.PostgresCPU)
	}
	if ph.WrittenPerSec != 10000 || ph.Waiting != 2 || ph.Buffered != 4096 {
		t.Errorf("written/s %v waiting %v buffered %v: want 10,000, 2 and 4096", ph.WrittenPerSec, ph.Waiting, ph.Buffered)
	}
	if len(ph.Agents) != 2 || ph.Agents[0].Use.CPU != 0.1 || ph.Agents[1].Use.CPU != 0.15 || ph.Agents[0].Engine != "shared" {
		t.Errorf("agents %+v", ph.Agents)
	}
	// The count windows start at the next whole second and hold the whole seconds up to the end.
	if ph.Counts.K != 19 || !ph.Counts.Base.Equal(at.Truncate(time.Second).Add(time.Second)) {
		t.Errorf("count windows %+v: want 19 seconds from the next whole one", ph.Counts)
	}

	start.havePG = false
	if ph := phaseBetween(start, end, sites, time.Second); !math.IsNaN(ph.PostgresCPU) {
		t.Errorf("Postgres CPU without a reading: %v, want NaN", ph.PostgresCPU)
	}
}

func TestStoredPerSecAndMicros(t *testing.T) {
	ph := &phase{Counts: storedonce.Windows{Interval: time.Second, K: 10}}
	checked := agentPhase{Checked: true, Stored: storedonce.Tally{Stored: 50000}, Use: usage{CPU: 0.1}}
	ph.Agents = []agentPhase{checked, checked}
	if got := ph.storedPerSec(checked); got != 5000 {
		t.Errorf("stored/s %v, want 5,000", got)
	}
	if got := ph.totalPerSec(); got != 10000 {
		t.Errorf("total %v, want 10,000", got)
	}
	if got := ph.storedPerSec(agentPhase{}); !math.IsNaN(got) {
		t.Errorf("unchecked: %v, want NaN", got)
	}
	if got := microsPerProbe(0.1, 5000); math.Abs(got-20) > 1e-9 {
		t.Errorf("0.1 cores at 5,000 probes/s: %v µs, want 20", got)
	}
	if got := microsPerProbe(0.1, 0); !math.IsNaN(got) {
		t.Errorf("no probes: %v, want NaN", got)
	}
}

func TestBufferedBytes(t *testing.T) {
	n := uint64(100)
	views := map[string]agentView{"site-1": {BufferedBytes: &n}, "site-2": {}, "site-3": {BufferedBytes: &n}}
	if got := bufferedBytes(views, []*site{{location: "site-1"}, {location: "site-2"}, {location: "site-4"}}); got != 100 {
		t.Errorf("got %d, want 100: only the sites asked for, nothing for unknown", got)
	}
}
