//go:build linux

package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"pingdeck/bench/internal/mdtable"
)

// ratioTarget is issue 20's bound on an agent's CPU per probe against the engine
// alone's.
const ratioTarget = 1.2

// reportHeader is what the report says above the tables.
type reportHeader struct {
	Date                  time.Time
	Command               string
	CPUs                  int
	LoadBefore, LoadAfter string
	Options               options
}

// writeReport prints the settings, the three tables, and how to read them.
func writeReport(w io.Writer, h reportHeader, res results) error {
	o := h.Options
	var b strings.Builder
	fmt.Fprintf(&b, "agentbench %s: `pingdeck agent` on %s loopback targets each, one probe every %s, assigned by a real server on a throwaway PostgreSQL; %s warm-up, %s measured per phase. %d CPUs; load average (1 min) %s before, %s after.\n\n",
		h.Date.UTC().Format(time.RFC3339), num(float64(o.n)), o.interval, o.warmup, o.window, h.CPUs, h.LoadBefore, h.LoadAfter)
	fmt.Fprintf(&b, "Command: `%s`\n\n", h.Command)

	b.WriteString("Agent CPU per probe against the engine alone (one after the other, on the same targets):\n\n")
	if err := engineTable(res).Write(&b); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nIngest (the server stores what the agents probe):\n\n")
	if err := ingestTable(res, o).Write(&b); err != nil {
		return err
	}
	if res.All != nil {
		fmt.Fprintf(&b, "\nEach agent with %d probing:\n\n", len(res.All.Agents))
		if err := agentTable(res.All, o).Write(&b); err != nil {
			return err
		}
	}
	b.WriteString(`
- CPU % of a core: utime+stime over the window ÷ wall time, from /proc (the process alone; Postgres: the postmaster, its living children and those it reaped). RSS: VmRSS at the window's end (VmHWM).
- probes/s: the engine alone counts the results of the probes it sent in its window; an agent's are the rows the server stored for its targets over whole intervals of the window (checked below), per second. µs CPU per probe: CPU ÷ probes/s. × engine alone: the agent's µs per probe ÷ the engine's.
- The engine alone is the engine the agent runs (the same choice for -engine, ICMP mode auto) in a child process of agentbench, probing the agent's targets with their settings, with nothing else: no scheduler, no disk buffer, no bus.
- results stored/s: as an agent's probes/s, summed; written/s: pingdeck_results_written_total over the window (what the writer stored while it lasted). waiting at window end: result batches on the server's bus (pingdeck_bus_stream_messages) and bytes on the agents' disk buffers (their last status).
- stored once: after the last window every group is paused and everything waiting is stored; then each target's raw rows are counted over whole intervals of each window, with edges half an interval from its sends (ping.Phase): exactly one per interval.
`)
	if len(res.Dropped) > 0 {
		fmt.Fprintf(&b, "- dropped over the run (pingdeck_results_dropped_total): %s\n", droppedText(res.Dropped))
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	if res.Failure != "" {
		fmt.Fprintf(&b, "- FAILED: %s\n", strings.ReplaceAll(res.Failure, "\n", " "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// engineTable compares the engine alone with the first agent alone.
func engineTable(res results) mdtable.Table {
	t := mdtable.Table{Header: []string{"process", "engine (ICMP mode)", "probes/s", "CPU % of a core", "µs CPU per probe", "RSS MiB (peak)", "× engine alone"},
		Text: []int{0, 1}}
	engineMicros := math.NaN()
	if e := res.Engine; e != nil {
		perSec := float64(e.results) / e.window.Seconds()
		engineMicros = microsPerProbe(e.use.CPU, perSec)
		t.Rows = append(t.Rows, []string{"engine alone", engineText(e.engine, e.mode), num(perSec), pct(e.use.CPU),
			mdtable.Number(engineMicros, 1), memText(e.use), "1.00"})
	} else {
		t.Rows = append(t.Rows, dashes("engine alone", len(t.Header)))
	}
	if ph := res.Single; ph != nil && len(ph.Agents) > 0 {
		a := ph.Agents[0]
		perSec := ph.storedPerSec(a)
		micros := microsPerProbe(a.Use.CPU, perSec)
		ratio := mdtable.Number(micros/engineMicros, 2)
		if r := micros / engineMicros; !math.IsNaN(r) {
			verdict := "within"
			if r > ratioTarget {
				verdict = "over"
			}
			ratio += fmt.Sprintf(" (%s the %.1f× target)", verdict, ratioTarget)
		}
		t.Rows = append(t.Rows, []string{"pingdeck agent (" + a.Location + ")", engineText(a.Engine, a.Mode), num(perSec), pct(a.Use.CPU),
			mdtable.Number(micros, 1), memText(a.Use), ratio})
	} else {
		t.Rows = append(t.Rows, dashes("pingdeck agent", len(t.Header)))
	}
	return t
}

// ingestTable is one row a phase: what the server stored and what it cost.
func ingestTable(res results, o options) mdtable.Table {
	t := mdtable.Table{Header: []string{"agents × targets", "results stored/s", "written/s", "server CPU % of a core", "Postgres CPU % of a core",
		"server RSS MiB (peak)", "each agent's CPU % of a core", "waiting at window end", "stored once"},
		Text: []int{0, 6, 7, 8}}
	for _, ph := range []*phase{res.Single, res.All} {
		if ph == nil {
			continue
		}
		agentCPU := make([]string, len(ph.Agents))
		for i, a := range ph.Agents {
			agentCPU[i] = pct(a.Use.CPU)
		}
		t.Rows = append(t.Rows, []string{
			fmt.Sprintf("%d × %s", len(ph.Agents), num(float64(o.n))), num(ph.totalPerSec()), num(ph.WrittenPerSec),
			pct(ph.Server.CPU), pct(ph.PostgresCPU), memText(ph.Server), strings.Join(agentCPU, ", "),
			fmt.Sprintf("%s batches on the bus, %s KiB on agents", num(ph.Waiting), num(float64(ph.Buffered)/1024)),
			storedText(ph.Agents),
		})
	}
	if len(t.Rows) == 0 {
		t.Rows = append(t.Rows, dashes("—", len(t.Header)))
	}
	return t
}

// agentTable is one row per agent of a phase.
func agentTable(ph *phase, o options) mdtable.Table {
	t := mdtable.Table{Header: []string{"location", "targets", "results stored/s", "CPU % of a core", "µs CPU per probe", "RSS MiB (peak)", "stored once"},
		Text: []int{0, 6}}
	for _, a := range ph.Agents {
		perSec := ph.storedPerSec(a)
		t.Rows = append(t.Rows, []string{a.Location, num(float64(o.n)), num(perSec), pct(a.Use.CPU),
			mdtable.Number(microsPerProbe(a.Use.CPU, perSec), 1), memText(a.Use), storedText([]agentPhase{a})})
	}
	return t
}

// storedText says whether each agent's targets had one row per interval, and where
// not, how.
func storedText(agents []agentPhase) string {
	var targets int
	var bad []string
	for _, a := range agents {
		if !a.Checked {
			return "—"
		}
		targets += a.Stored.Targets
		if !a.Stored.OK() {
			bad = append(bad, a.Location+": "+a.Stored.String())
		}
	}
	if len(bad) > 0 {
		return strings.Join(bad, "; ")
	}
	return fmt.Sprintf("ok: %s targets × %d in their windows", num(float64(targets)), agents[0].Stored.Want)
}

func engineText(engine, mode string) string {
	if engine == "" {
		return "?"
	}
	if mode == "" {
		return engine
	}
	return engine + " (" + mode + ")"
}

func memText(u usage) string {
	return fmt.Sprintf("%.0f (%.0f)", mdtable.MiB(u.RSS), mdtable.MiB(u.Peak))
}

func num(v float64) string { return mdtable.Number(v, 0) }

// pct is cores as a percentage of one core.
func pct(cores float64) string { return mdtable.Number(100*cores, 1) }

func dashes(first string, n int) []string {
	out := []string{first}
	for len(out) < n {
		out = append(out, "—")
	}
	return out
}

func droppedText(dropped map[string]float64) string {
	var parts []string
	for _, reason := range slices.Sorted(maps.Keys(dropped)) {
		if n := dropped[reason]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", reason, num(n)))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
