//go:build linux

package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"pingdeck/bench/internal/storedonce"
)

// newRowFor is a measured row: a bus binary when bus is true, else one from before it.
func newRowFor(bus bool) row {
	r := row{Label: "this tree", Targets: 2000, Interval: time.Second, Window: 20 * time.Second,
		CPU: 0.253, PostgresCPU: 0.1, RSS: 80 << 20, PeakRSS: 90 << 20,
		ProbesPerSec: 2000, ResultsPerSec: 2000, BusBytesPerSec: 60000, WrittenPerSec: 2000,
		Published: 40000, BusBytes: 1.2e6, Backlog: 1,
		Stored:  storedOnce{Checked: true, Tally: storedonce.Tally{Want: 19, Targets: 2000}, Rows: 90000, Published: 90000},
		Rollups: rollupCheck{Checked: true, Buckets: 4000, HourChecked: true}}
	if !bus {
		r.ResultsPerSec, r.BusBytesPerSec, r.Published, r.BusBytes, r.Backlog = math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()
		r.Stored.Published = math.NaN()
	}
	return r
}

func TestCells(t *testing.T) {
	cells := func(r row) map[string]string {
		out := map[string]string{}
		c := r.cells()
		if len(c) != len(tableColumns()) {
			t.Fatalf("%d cells for %d columns", len(c), len(tableColumns()))
		}
		for i, col := range tableColumns() {
			out[col] = c[i]
		}
		return out
	}
	bus := cells(newRowFor(true))
	for col, want := range map[string]string{
		"server CPU % of a core": "25.3", "RSS MiB (peak)": "80 (90)", "results/s": "2,000", "bus bytes/s": "60,000",
		"bytes/result": "30.0", "dropped": "0", "stored once": "ok: 2,000 targets × 19 in their windows; 90,000 rows = published",
		"rollups = raw": "ok: 4,000 minute buckets; hours = minutes",
	} {
		if bus[col] != want {
			t.Errorf("%s = %q, want %q", col, bus[col], want)
		}
	}
	old := cells(newRowFor(false))
	for _, col := range []string{"results/s", "bus bytes/s", "bytes/result", "batches waiting at window end"} {
		if old[col] != "n/a" {
			t.Errorf("without bus metrics %s = %q, want n/a", col, old[col])
		}
	}
	if old["stored once"] != "ok: 2,000 targets × 19 in their windows; rows vs published n/a" || old["probes/s"] != "2,000" {
		t.Errorf("without bus metrics: stored once %q, probes/s %q", old["stored once"], old["probes/s"])
	}

	bad := newRowFor(true)
	bad.Stored = storedOnce{Checked: true, Tally: storedonce.Tally{Want: 19, Targets: 2000, Off: 2, Missing: 3, Extra: 1, Example: "127.64.0.9 has 17"},
		Rows: 89998, Published: 90000}
	bad.Rollups = rollupCheck{Checked: true, Buckets: 4000, Off: 2, Missing: 0, Extra: 60, HourChecked: true, HourOff: 1}
	bad.Dropped = map[string]float64{"publish_backlog": 5, "bus_discarded": 2, "undecodable": 0}
	got := cells(bad)
	for col, want := range map[string]string{
		"stored once":   "3 missing 1 extra (2 of 2000 targets off, e.g. 127.64.0.9 has 17 of 19); 89,998 rows ≠ 90,000 published",
		"rollups = raw": "2 of 4,000 minute buckets off (0 missing, 60 extra); 1 hour buckets ≠ their minutes",
		"dropped":       "7 (bus_discarded 2, publish_backlog 5)",
	} {
		if got[col] != want {
			t.Errorf("%s = %q, want %q", col, got[col], want)
		}
	}

	failed := cells(row{Label: "old", Targets: 10, Interval: time.Second, Err: "server exited"})
	if failed["server CPU % of a core"] != "—" || failed["notes"] != "FAILED: server exited" {
		t.Errorf("a failed run's cells: %v", failed)
	}
}

func TestWriteReport(t *testing.T) {
	var b strings.Builder
	writeReport(&b, reportHeader{Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), CPUs: 2, LoadBefore: "0.10", LoadAfter: "1.50",
		Warmup: 20 * time.Second, Window: time.Minute, PerGroup: 500}, []row{newRowFor(true), newRowFor(false)}, nil)
	lines := strings.Split(b.String(), "\n")
	var table []string
	for _, l := range lines {
		if strings.HasPrefix(l, "|") {
			table = append(table, l)
		}
	}
	if len(table) != 4 { // heading, separator, two rows
		t.Fatalf("table has %d lines:\n%s", len(table), b.String())
	}
	cols := strings.Count(table[0], "|")
	for _, l := range table[1:] {
		if strings.Count(l, "|") != cols {
			t.Errorf("line %q has %d bars, the heading %d", l, strings.Count(l, "|"), cols)
		}
	}
	if !strings.Contains(lines[0], "groups of 500") || !strings.Contains(lines[0], "20s warm-up, 1m0s measured") {
		t.Errorf("header line: %s", lines[0])
	}
}

// fpingFor is a measured fping run on the rows' targets.
func fpingFor() fpingRun {
	return fpingRun{Version: "Version 5.1", Args: []string{"-l", "-p", "1000", "-f", "/tmp/t"}, Targets: 2000, Interval: time.Second,
		Window: 20 * time.Second, CPU: 0.05, RSS: 3 << 20, PeakRSS: 4 << 20,
		Summarised: 2000, Sent: 60000, Received: 59990, Ran: 30 * time.Second}
}

func TestFpingCells(t *testing.T) {
	c := fpingFor().cells()
	if len(c) != len(tableColumns()) {
		t.Fatalf("%d cells for %d columns", len(c), len(tableColumns()))
	}
	got := map[string]string{}
	for i, col := range tableColumns() {
		got[col] = c[i]
	}
	for col, want := range map[string]string{
		"server": "fping 5.1", "targets": "2000", "server CPU % of a core": "5.0", "Postgres CPU % of a core": "n/a",
		"RSS MiB (peak)": "3 (4)", "probes/s": "2,000", "results/s": "—", "stored once": "—",
		"notes": "60,000 sent, 59,990 answered in 30s",
	} {
		if got[col] != want {
			t.Errorf("%s = %q, want %q", col, got[col], want)
		}
	}
	partial := fpingFor()
	partial.Summarised = 1999
	if n := partial.notes(); !strings.Contains(n, "summary of 1999 targets, not 2000") {
		t.Errorf("a summary short of targets: notes %q", n)
	}
	failed := fpingRun{Targets: 10, Interval: time.Second, Err: "fping: not installed"}.cells()
	if failed[0] != "fping" || failed[3] != "—" || failed[len(failed)-1] != "FAILED: fping: not installed" {
		t.Errorf("a failed fping's cells: %q", failed)
	}
}

func TestRatioLines(t *testing.T) {
	sqlite := newRowFor(true)
	sqlite.Label, sqlite.CPU, sqlite.PostgresCPU = "this tree", 0.0625, math.NaN()
	pg := newRowFor(true)
	pg.Label, pg.CPU, pg.PostgresCPU = "/tmp/old", 0.253, 0.1
	failed := row{Label: "/tmp/broken", Err: "server exited"}
	got := ratioLines([]row{sqlite, pg, failed}, fpingFor())
	want := []string{
		"server / fping CPU = 1.25× (this tree: 6.2 % against 5.0 % of a core)",
		"server / fping CPU = 5.06× (/tmp/old: 25.3 % against 5.0 % of a core); server + Postgres / fping = 7.06×",
		"server / fping CPU = n/a (/tmp/broken: not measured)",
	}
	if len(got) != len(want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, got[i], want[i])
		}
	}
	if l := ratioLines([]row{sqlite}, fpingRun{Err: "fping exited early"}); len(l) != 1 || !strings.Contains(l[0], "n/a") {
		t.Errorf("fping unmeasured: %q", l)
	}
}

func TestWriteReportWithFping(t *testing.T) {
	var b strings.Builder
	r := newRowFor(true)
	r.PostgresCPU = math.NaN()
	writeReport(&b, reportHeader{Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), CPUs: 2, LoadBefore: "0.10", LoadAfter: "1.50",
		Warmup: 20 * time.Second, Window: time.Minute, PerGroup: 500, DB: dbSQLite}, []row{r}, new(fpingFor()))
	out := b.String()
	var table []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "|") {
			table = append(table, l)
		}
	}
	if len(table) != 4 || !strings.HasPrefix(table[3], "| fping 5.1 ") {
		t.Fatalf("want heading, separator, the server's row and fping's:\n%s", out)
	}
	if cols := strings.Count(table[0], "|"); strings.Count(table[3], "|") != cols {
		t.Errorf("fping's row has %d bars, the heading %d", strings.Count(table[3], "|"), cols)
	}
	for _, want := range []string{"the real server on SQLite (the embedded default)", "\nserver / fping CPU = 5.06× (this tree: 25.3 % against 5.0 % of a core)\n",
		"- fping: `fping -l -p 1000 -f /tmp/t` (the file"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "server + Postgres") {
		t.Errorf("a SQLite row has a Postgres ratio:\n%s", out)
	}
}

func TestRollupCellOnHoursOnly(t *testing.T) {
	ok := rollupCheck{Checked: true, HourChecked: true, HoursOnly: true, Buckets: 5000}
	if got := ok.cell(); got != "ok: 5,000 hour buckets = their probes" {
		t.Errorf("cell %q", got)
	}
	off := rollupCheck{Checked: true, HourChecked: true, HoursOnly: true, Buckets: 5000, HourOff: 2, Missing: 3, Extra: 1}
	if got := off.cell(); got != "2 of 5,000 hour buckets ≠ their probes (3 missing, 1 extra)" || off.ok() {
		t.Errorf("cell %q, ok %v", got, off.ok())
	}
}
