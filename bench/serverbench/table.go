//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"pingdeck/bench/internal/mdtable"
)

// row is one binary's measurement as the table shows it. Rates are NaN where the
// binary does not export the metric (one from before the bus).
type row struct {
	Label    string
	Targets  int
	Interval time.Duration
	Window   time.Duration // as measured; 0 when the run failed before the window ended

	CPU, PostgresCPU float64 // cores (1 is one core busy)
	RSS, PeakRSS     int64   // the server's VmRSS at the window's end and VmHWM, bytes

	ProbesPerSec, ResultsPerSec, BusBytesPerSec, WrittenPerSec float64
	Published, BusBytes                                        float64            // in the window
	Backlog                                                    float64            // result batches waiting on the bus at the window's end
	Dropped                                                    map[string]float64 // all run long, by reason

	Stored  storedOnce
	Rollups rollupCheck
	Notes   []string
	Err     string
}

// tableColumns are the table's headings.
func tableColumns() []string {
	return []string{
		"server", "targets", "interval", "server CPU % of a core", "Postgres CPU % of a core", "RSS MiB (peak)",
		"probes/s", "results/s", "bus bytes/s", "bytes/result", "written/s", "batches waiting at window end",
		"dropped", "stored once", "rollups = raw", "notes",
	}
}

// cells formats r, one string per column.
func (r row) cells() []string {
	out := []string{r.Label, strconv.Itoa(r.Targets), r.Interval.String()}
	if r.Window <= 0 {
		for len(out) < len(tableColumns())-1 {
			out = append(out, "—")
		}
		return append(out, r.notes())
	}
	bytesPerResult := math.NaN()
	if r.Published > 0 {
		bytesPerResult = r.BusBytes / r.Published
	}
	out = append(out,
		mdtable.Number(100*r.CPU, 1),
		mdtable.Number(100*r.PostgresCPU, 1),
		fmt.Sprintf("%.0f (%.0f)", mdtable.MiB(r.RSS), mdtable.MiB(r.PeakRSS)),
		mdtable.Number(r.ProbesPerSec, 0),
		mdtable.Number(r.ResultsPerSec, 0),
		mdtable.Number(r.BusBytesPerSec, 0),
		mdtable.Number(bytesPerResult, 1),
		mdtable.Number(r.WrittenPerSec, 0),
		mdtable.Number(r.Backlog, 0),
		r.droppedCell(),
		r.Stored.cell(),
		r.Rollups.cell(),
		r.notes(),
	)
	return out
}

// droppedCell is the results dropped over the run, with their reasons.
func (r row) droppedCell() string {
	var total float64
	var reasons []string
	for reason, n := range r.Dropped {
		if n > 0 {
			total += n
			reasons = append(reasons, fmt.Sprintf("%s %.0f", reason, n))
		}
	}
	if total == 0 {
		return "0"
	}
	slices.Sort(reasons)
	return fmt.Sprintf("%.0f (%s)", total, strings.Join(reasons, ", "))
}

// cell says whether every result was stored once, and if not how it was not.
func (s storedOnce) cell() string {
	if !s.Checked {
		return "—"
	}
	total := "rows vs published n/a"
	if !math.IsNaN(s.Published) {
		total = fmt.Sprintf("%s rows = published", mdtable.Number(float64(s.Rows), 0))
		if float64(s.Rows) != s.Published {
			total = fmt.Sprintf("%s rows ≠ %s published", mdtable.Number(float64(s.Rows), 0), mdtable.Number(s.Published, 0))
		}
	}
	if s.ok() {
		return "ok: " + s.Tally.String() + "; " + total
	}
	perTarget := s.Tally.String()
	if s.Tally.OK() {
		perTarget = "per target ok"
	}
	return perTarget + "; " + total
}

// cell says whether the rollups agree with the raw rows.
func (r rollupCheck) cell() string {
	if !r.Checked {
		return "—"
	}
	hours := "; hours n/a"
	if r.HourChecked {
		hours = "; hours = minutes"
		if r.HourOff > 0 {
			hours = fmt.Sprintf("; %d hour buckets ≠ their minutes", r.HourOff)
		}
	}
	if r.Off == 0 {
		return fmt.Sprintf("ok: %s minute buckets%s", mdtable.Number(float64(r.Buckets), 0), hours)
	}
	return fmt.Sprintf("%d of %s minute buckets off (%s missing, %s extra)%s", r.Off, mdtable.Number(float64(r.Buckets), 0),
		mdtable.Number(float64(r.Missing), 0), mdtable.Number(float64(r.Extra), 0), hours)
}

func (r row) notes() string {
	n := slices.Clone(r.Notes)
	if r.Rollups.ErrorsColumnless {
		n = append(n, "schema without rollup errors: sent compared with all rows")
	}
	if r.Err != "" {
		n = append(n, "FAILED: "+r.Err)
	}
	return strings.Join(n, "; ")
}

// reportHeader is what the report says above the table.
type reportHeader struct {
	Date                  time.Time
	CPUs                  int
	LoadBefore, LoadAfter string
	Warmup, Window        time.Duration
	PerGroup              int
}

// writeReport prints the settings, the table, and how to read it.
func writeReport(w io.Writer, h reportHeader, rs []row) {
	var b strings.Builder
	fmt.Fprintf(&b, "serverbench %s: the real server on a throwaway PostgreSQL, probing loopback targets in groups of %d through its bus; %s warm-up, %s measured. %d CPUs; load average (1 min) %s before, %s after.\n\n",
		h.Date.UTC().Format(time.RFC3339), h.PerGroup, h.Warmup, h.Window, h.CPUs, h.LoadBefore, h.LoadAfter)
	rows := make([][]string, len(rs))
	for i, r := range rs {
		rows[i] = r.cells()
	}
	cols := tableColumns()
	mdtable.Table{Header: cols, Rows: rows, Text: []int{0, len(cols) - 3, len(cols) - 2, len(cols) - 1}}.Write(&b)
	b.WriteString(`
- CPU % of a core: utime+stime over the window ÷ wall time, from /proc (the server process; Postgres: the postmaster, its living children and those it reaped). RSS: VmRSS at the window's end (VmHWM).
- probes/s: pingdeck_probes_sent_total; results/s, bus bytes/s: pingdeck_bus_results_published_total and pingdeck_bus_result_bytes_total (payload and headers); written/s: pingdeck_results_written_total; all over the window. dropped: pingdeck_results_dropped_total over the whole run.
- stored once: after the window the groups are paused and the writer drains the bus; then each target's raw rows are counted over whole intervals of the window whose edges fall half an interval from its sends (ping.Phase), which must be exactly one per interval, and all raw rows must equal all results published. rollups = raw: every 1-minute rollup's sent + errors and received equal its minute's raw rows and answered rows, and every 1-hour rollup the sum of its minutes.
`)
	io.WriteString(w, b.String())
}
