//go:build linux

package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"pingdeck/bench/internal/instance"
	"pingdeck/bench/internal/procfs"
	"pingdeck/bench/internal/promtext"
	"pingdeck/bench/internal/storedonce"
	"pingdeck/internal/store/storetest"
)

// readyTimeout bounds the wait for the server's /readyz after it listens.
const readyTimeout = time.Minute

// runOne measures one binary: a fresh data dir and database (a throwaway cluster, or
// a SQLite file in that dir), the server on them, the targets, the warm-up, the
// window, then the drain and the checks. Everything it started is stopped and removed
// before it returns, in reverse order of start.
func runOne(ctx context.Context, o options, b binary, logf func(string, ...any)) (r row, err error) {
	r = row{Label: b.label, Targets: o.n, Interval: o.interval}
	dir, err := os.MkdirTemp("", "serverbench-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	sqlitePath := filepath.Join(dir, "bench.db")
	dbURL := "sqlite:" + sqlitePath
	if o.db == dbPostgres {
		logf("%s: starting a throwaway PostgreSQL cluster", b.label)
		u, stopDB, err := storetest.Throwaway(ctx)
		if err != nil {
			return r, err
		}
		defer func() {
			if err := stopDB(); err != nil {
				logf("stopping the cluster: %v", err)
			}
		}()
		dbURL = u
	}
	srv, addr, err := startServer(ctx, b.path, dir, dbURL, o)
	if err != nil {
		return r, err
	}
	defer func() {
		if serr := srv.Stop(); serr != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("server exit: %v", serr))
		}
	}()
	logf("%s: server (pid %d) listens on %s", b.label, srv.PID(), addr)

	c := instance.NewClient(addr)
	if err := c.WaitReady(ctx, srv, readyTimeout); err != nil {
		return r, err
	}
	if err := c.Login(ctx, adminPassword); err != nil {
		return r, err
	}
	groups, err := createTargets(ctx, c, o, logf)
	if err != nil {
		return r, err
	}
	logf("warming up for %s", o.warmup)
	if err := srv.Sleep(ctx, o.warmup); err != nil {
		return r, err
	}
	postmaster := 0 // none on SQLite: its column says n/a
	if o.db == dbPostgres {
		pm, err := procfs.PostmasterPID(dbURL)
		if err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("no Postgres CPU: %v", err))
		}
		postmaster = pm
	}
	start, err := takeReading(ctx, c, srv.PID(), postmaster)
	if err != nil {
		return r, err
	}
	logf("measuring for %s", o.window)
	if err := srv.Sleep(ctx, o.window); err != nil {
		return r, err
	}
	end, err := takeReading(ctx, c, srv.PID(), postmaster)
	if err != nil {
		return r, err
	}
	r.measured(start, end)

	// The count windows end at most half an interval after the measured one: let them
	// close, then stop probing so that the writer can catch up with a fixed total.
	if err := srv.Sleep(ctx, o.interval); err != nil {
		return r, err
	}
	for _, g := range groups {
		if err := c.PauseGroup(ctx, g.ID); err != nil {
			return r, err
		}
	}
	logf("groups paused; waiting (up to %s) for the writer to catch up", o.drain)
	final, caughtUp, err := waitCaughtUp(ctx, c, srv, o.drain)
	if err != nil {
		return r, err
	}
	if !caughtUp {
		r.Notes = append(r.Notes, fmt.Sprintf("writer not caught up %s after the pause", o.drain))
	}
	r.Dropped = final.ByLabel(metricDropped, "reason")
	if n := final.Sum(metricPublishErrors); n > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%.0f batches failed to publish", n))
	}
	// A server with compact storage holds the open blocks' results until they close;
	// stopping commits them.
	logf("stopping the server (it stores what it holds), then checking the database")
	if err := srv.Stop(); err != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("server stop: %v", err))
	}
	targets, windows, published := instance.TargetsOf(groups), storedonce.Within(start.at, end.at, o.interval), final.Sum(metricPublished)
	if o.db == dbSQLite {
		r.Stored, r.Rollups, err = verifySQLite(ctx, sqlitePath, targets, windows, published)
	} else {
		r.Stored, r.Rollups, err = verify(ctx, dbURL, targets, windows, published)
	}
	return r, err
}

// reading is the server's state at one moment.
type reading struct {
	at        time.Time
	cpu       time.Duration // the server's user + system CPU so far
	mem       procfs.Memory
	pgCPU     time.Duration // the cluster's CPU so far, if havePGCPU
	havePGCPU bool
	scrape    promtext.Metrics
}

// takeReading reads the server's and the cluster's CPU (postmaster 0: unknown), the
// server's memory, then its metrics.
func takeReading(ctx context.Context, c *instance.Client, pid, postmaster int) (reading, error) {
	r := reading{at: time.Now()}
	var err error
	if r.cpu, err = procfs.CPU(pid); err != nil {
		return r, err
	}
	if r.mem, err = procfs.ReadMemory(pid); err != nil {
		return r, err
	}
	if postmaster > 0 {
		if cpu, err := procfs.ClusterCPU(postmaster); err == nil {
			r.pgCPU, r.havePGCPU = cpu, true
		}
	}
	r.scrape, err = c.Scrape(ctx)
	return r, err
}

// measured fills the window's columns from its first and last reading.
func (r *row) measured(start, end reading) {
	secs := end.at.Sub(start.at).Seconds()
	r.Window = end.at.Sub(start.at)
	r.CPU = (end.cpu - start.cpu).Seconds() / secs
	r.PostgresCPU = math.NaN()
	if start.havePGCPU && end.havePGCPU {
		r.PostgresCPU = (end.pgCPU - start.pgCPU).Seconds() / secs
	}
	r.RSS, r.PeakRSS = end.mem.RSS, end.mem.Peak
	delta := func(name string) float64 { return end.scrape.Sum(name) - start.scrape.Sum(name) }
	r.ProbesPerSec = delta(metricProbesSent) / secs
	r.Published = delta(metricPublished)
	r.BusBytes = delta(metricBusBytes)
	r.ResultsPerSec = r.Published / secs
	r.BusBytesPerSec = r.BusBytes / secs
	r.WrittenPerSec = delta(metricWritten) / secs
	r.Backlog = end.scrape.Sum(metricStreamMsgs)
}

// caughtUpQuiet is how long the counters must stand still, with nothing waiting on the
// bus, before the writer counts as caught up.
const caughtUpQuiet = 3 * time.Second

// waitCaughtUp scrapes until the writer has caught up (see caughtUp) and the result
// counters have stood still for caughtUpQuiet, or timeout passes (false).
func waitCaughtUp(ctx context.Context, c *instance.Client, srv *instance.Process, timeout time.Duration) (promtext.Metrics, bool, error) {
	deadline := time.Now().Add(timeout)
	var last promtext.Metrics
	still := time.Now()
	for {
		m, err := c.Scrape(ctx)
		if err != nil {
			return last, false, err
		}
		if last == nil || !sameCounters(last, m) {
			still = time.Now()
		}
		last = m
		if caughtUp(m) && time.Since(still) >= caughtUpQuiet {
			return m, true, nil
		}
		if time.Now().After(deadline) {
			return m, false, nil
		}
		if err := srv.Sleep(ctx, 500*time.Millisecond); err != nil {
			return m, false, err
		}
	}
}

// caughtUp says nothing waits on the bus for the writer, and it has written at least
// what was published; a binary without the bus metrics passes both.
func caughtUp(m promtext.Metrics) bool {
	waiting := m.Sum(metricStreamMsgs)
	if m.Has(metricUndelivered) { // a writer that holds batches until their blocks close
		waiting = m.Sum(metricUndelivered)
	}
	return !(waiting > 0) && !(m.Sum(metricWritten) < m.Sum(metricPublished))
}

// sameCounters says the result counters did not move between two scrapes.
func sameCounters(a, b promtext.Metrics) bool {
	for _, name := range []string{metricProbesSent, metricPublished, metricWritten} {
		x, y := a.Sum(name), b.Sum(name)
		if x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
			return false
		}
	}
	return true
}
