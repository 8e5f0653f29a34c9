//go:build linux

package main

import (
	"context"
	"math"
	"time"

	"pingdeck/bench/internal/instance"
	"pingdeck/bench/internal/procfs"
	"pingdeck/bench/internal/promtext"
	"pingdeck/bench/internal/storedonce"
)

// procReading is a process's CPU time so far and its memory.
type procReading struct {
	cpu time.Duration
	mem procfs.Memory
}

func readProc(pid int) (procReading, error) {
	cpu, err := procfs.CPU(pid)
	if err != nil {
		return procReading{}, err
	}
	mem, err := procfs.ReadMemory(pid)
	return procReading{cpu: cpu, mem: mem}, err
}

// usage is what a process used over a window.
type usage struct {
	CPU       float64 // cores: utime+stime over wall time
	RSS, Peak int64   // VmRSS at the window's end, VmHWM
}

// until is the usage from r to end, wall apart.
func (r procReading) until(end procReading, wall time.Duration) usage {
	return usage{CPU: (end.cpu - r.cpu).Seconds() / wall.Seconds(), RSS: end.mem.RSS, Peak: end.mem.Peak}
}

// measureOver reads p at start and at end (waiting for each), and says what it used
// in between.
func measureOver(ctx context.Context, p *instance.Process, start, end time.Time) (usage, error) {
	if err := p.Sleep(ctx, time.Until(start)); err != nil {
		return usage{}, err
	}
	at := time.Now()
	a, err := readProc(p.PID())
	if err != nil {
		return usage{}, err
	}
	if err := p.Sleep(ctx, time.Until(end)); err != nil {
		return usage{}, err
	}
	b, err := readProc(p.PID())
	return a.until(b, time.Since(at)), err
}

// snapshot is the server, its cluster and the agents at one moment.
type snapshot struct {
	at       time.Time
	server   procReading
	agents   []procReading // in the order of the sites
	pgCPU    time.Duration // if havePG
	havePG   bool
	scrape   promtext.Metrics
	buffered uint64 // bytes waiting on the agents' disks, as they last said
}

// phase is one measured window with some agents probing.
type phase struct {
	Wall          time.Duration // between the readings
	Server        usage
	PostgresCPU   float64 // cores; NaN when unknown
	WrittenPerSec float64 // results the server's writer stored per second in the window
	Waiting       float64 // result batches on the server's bus at the window's end
	Buffered      uint64  // bytes on the agents' disks at the window's end
	Agents        []agentPhase
	// Counts are the targets' windows in which their stored rows are counted: whole
	// intervals within the measured window.
	Counts storedonce.Windows
}

// agentPhase is one agent in a phase.
type agentPhase struct {
	Location, Engine, Mode string
	Use                    usage
	Stored                 storedonce.Tally // its targets' rows in their count windows, once checked
	Checked                bool
}

// phaseBetween is the window from start to end with sites probing.
func phaseBetween(start, end snapshot, sites []*site, interval time.Duration) *phase {
	wall := end.at.Sub(start.at)
	ph := &phase{Wall: wall, Server: start.server.until(end.server, wall), PostgresCPU: math.NaN(),
		WrittenPerSec: (end.scrape.Sum(metricWritten) - start.scrape.Sum(metricWritten)) / wall.Seconds(),
		Waiting:       end.scrape.Sum(metricStreamMsgs), Buffered: end.buffered,
		Counts: storedonce.Within(start.at, end.at, interval)}
	if start.havePG && end.havePG {
		ph.PostgresCPU = (end.pgCPU - start.pgCPU).Seconds() / wall.Seconds()
	}
	for i, s := range sites {
		ph.Agents = append(ph.Agents, agentPhase{Location: s.location, Engine: s.engine, Mode: s.mode,
			Use: start.agents[i].until(end.agents[i], wall)})
	}
	return ph
}

// storedPerSec is the results of an agent's probes sent in the count windows that the
// server stored, per second; NaN before the check.
func (p *phase) storedPerSec(a agentPhase) float64 {
	if !a.Checked || p.Counts.K == 0 {
		return math.NaN()
	}
	return float64(a.Stored.Stored) / (float64(p.Counts.K) * p.Counts.Interval.Seconds())
}

// totalPerSec is storedPerSec summed over the agents.
func (p *phase) totalPerSec() float64 {
	total := 0.0
	for _, a := range p.Agents {
		total += p.storedPerSec(a)
	}
	return total
}

// microsPerProbe is the CPU a process spent per probe, in µs: cores over probes per
// second.
func microsPerProbe(cores, probesPerSec float64) float64 {
	if !(probesPerSec > 0) {
		return math.NaN()
	}
	return cores / probesPerSec * 1e6
}
