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
	if r.HoursOnly {
		if r.HourOff == 0 {
			return fmt.Sprintf("ok: %s hour buckets = their probes", mdtable.Number(float64(r.Buckets), 0))
		}
		return fmt.Sprintf("%d of %s hour buckets ≠ their probes (%s missing, %s extra)", r.HourOff, mdtable.Number(float64(r.Buckets), 0),
			mdtable.Number(float64(r.Missing), 0), mdtable.Number(float64(r.Extra), 0))
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
	DB                    string // dbPostgres or dbSQLite
}

// database says where the servers stored their results.
func (h reportHeader) database() string {
	if h.DB == dbSQLite {
		return "SQLite (the embedded default)"
	}
	return "a throwaway PostgreSQL"
}

// writeReport prints the settings, the table (the servers' rows, then fping's if fp
// is not nil, each server's CPU over fping's below it), and how to read it.
func writeReport(w io.Writer, h reportHeader, rs []row, fp *fpingRun) {
	var b strings.Builder
	fmt.Fprintf(&b, "serverbench %s: the real server on %s, probing loopback targets in groups of %d through its bus; %s warm-up, %s measured. %d CPUs; load average (1 min) %s before, %s after.\n\n",
		h.Date.UTC().Format(time.RFC3339), h.database(), h.PerGroup, h.Warmup, h.Window, h.CPUs, h.LoadBefore, h.LoadAfter)
	rows := make([][]string, 0, len(rs)+1)
	for _, r := range rs {
		rows = append(rows, r.cells())
	}
	if fp != nil {
		rows = append(rows, fp.cells())
	}
	cols := tableColumns()
	mdtable.Table{Header: cols, Rows: rows, Text: []int{0, len(cols) - 3, len(cols) - 2, len(cols) - 1}}.Write(&b)
	if fp != nil {
		b.WriteString("\n")
		for _, l := range ratioLines(rs, *fp) {
			b.WriteString(l + "\n")
		}
	}
	b.WriteString(`
- CPU % of a core: utime+stime over the window ÷ wall time, from /proc (the server process; Postgres: the postmaster, its living children and those it reaped). RSS: VmRSS at the window's end (VmHWM).
- probes/s: pingdeck_probes_sent_total; results/s, bus bytes/s: pingdeck_bus_results_published_total and pingdeck_bus_result_bytes_total (payload and headers); written/s: pingdeck_results_written_total; all over the window. dropped: pingdeck_results_dropped_total over the whole run.
- stored once: after the window the groups are paused and the writer drains the bus; then each target's raw rows are counted over whole intervals of the window whose edges fall half an interval from its sends (ping.Phase), which must be exactly one per interval, and all raw rows must equal all results published. rollups = raw: every 1-minute rollup's sent + errors and received equal its minute's raw rows and answered rows, and every 1-hour rollup the sum of its minutes (compact storage, which keeps no minute rollups: every 1-hour rollup's sent + errors and received equal its hour's stored probes and answered ones).
`)
	if fp != nil {
		fmt.Fprintf(&b, "- fping: `fping %s` (the file: the same addresses, one a line), stopped with SIGINT after the window; CPU and RSS as the server's; probes/s: the xmt of its summary over its whole run (%s); its other columns have no counterpart.\n",
			strings.Join(fp.Args, " "), fp.Ran.Round(time.Second))
	}
	io.WriteString(w, b.String())
}

// label names fping's row.
func (f fpingRun) label() string {
	if f.Version == "" {
		return "fping"
	}
	return "fping " + strings.TrimPrefix(f.Version, "Version ")
}

// cells formats fping's row in the servers' columns: CPU, RSS and probes/s; the rest
// have no counterpart.
func (f fpingRun) cells() []string {
	out := []string{f.label(), strconv.Itoa(f.Targets), f.Interval.String()}
	if f.Window <= 0 {
		for len(out) < len(tableColumns())-1 {
			out = append(out, "—")
		}
		return append(out, f.notes())
	}
	probesPerSec := math.NaN()
	if f.Ran > 0 && f.Summarised > 0 {
		probesPerSec = float64(f.Sent) / f.Ran.Seconds()
	}
	out = append(out,
		mdtable.Number(100*f.CPU, 1),
		"n/a",
		fmt.Sprintf("%.0f (%.0f)", mdtable.MiB(f.RSS), mdtable.MiB(f.PeakRSS)),
		mdtable.Number(probesPerSec, 0),
	)
	for len(out) < len(tableColumns())-1 {
		out = append(out, "—")
	}
	return append(out, f.notes())
}

func (f fpingRun) notes() string {
	var n []string
	if f.Summarised > 0 {
		n = append(n, fmt.Sprintf("%s sent, %s answered in %s", mdtable.Number(float64(f.Sent), 0),
			mdtable.Number(float64(f.Received), 0), f.Ran.Round(time.Second)))
		if f.Summarised != f.Targets {
			n = append(n, fmt.Sprintf("summary of %d targets, not %d", f.Summarised, f.Targets))
		}
	}
	if f.Err != "" {
		n = append(n, "FAILED: "+f.Err)
	}
	return strings.Join(n, "; ")
}

// ratioLines give each measured server's CPU over fping's ("server / fping CPU =
// 1.23×"), and on Postgres the server's and the cluster's together over fping's.
func ratioLines(rs []row, f fpingRun) []string {
	if f.Window <= 0 || !(f.CPU > 0) {
		return []string{"server / fping CPU: n/a (fping was not measured)"}
	}
	var out []string
	for _, r := range rs {
		if r.Window <= 0 {
			out = append(out, fmt.Sprintf("server / fping CPU = n/a (%s: not measured)", r.Label))
			continue
		}
		l := fmt.Sprintf("server / fping CPU = %.2f× (%s: %s %% against %s %% of a core)", r.CPU/f.CPU, r.Label,
			mdtable.Number(100*r.CPU, 1), mdtable.Number(100*f.CPU, 1))
		if !math.IsNaN(r.PostgresCPU) {
			l += fmt.Sprintf("; server + Postgres / fping = %.2f×", (r.CPU+r.PostgresCPU)/f.CPU)
		}
		out = append(out, l)
	}
	return out
}
