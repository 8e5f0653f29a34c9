//go:build linux

package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"pingdeck/internal/store/storetest"
)

// readyTimeout bounds the wait for the server's /readyz after it listens.
const readyTimeout = time.Minute

// runOne measures one binary: a fresh cluster and data dir, the server on them, the
// targets, the warm-up, the window, then the drain and the checks. Everything it
// started is stopped and removed before it returns, in reverse order of start.
func runOne(ctx context.Context, o options, b binary, logf func(string, ...any)) (r row, err error) {
	r = row{Label: b.label, Targets: o.n, Interval: o.interval}
	dir, err := os.MkdirTemp("", "serverbench-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	logf("%s: starting a throwaway PostgreSQL cluster", b.label)
	dbURL, stopDB, err := storetest.Throwaway(ctx)
	if err != nil {
		return r, err
	}
	defer func() {
		if err := stopDB(); err != nil {
			logf("stopping the cluster: %v", err)
		}
	}()
	srv, err := startServer(ctx, b.path, dir, dbURL, o)
	if err != nil {
		return r, err
	}
	defer func() {
		if serr := srv.stop(); serr != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("server exit: %v", serr))
		}
	}()
	logf("%s: server (pid %d) listens on %s", b.label, srv.pid(), srv.addr)

	c := newAPIClient(srv.addr)
	if err := c.waitReady(ctx, srv, readyTimeout); err != nil {
		return r, err
	}
	if err := c.login(ctx); err != nil {
		return r, err
	}
	groups, err := createTargets(ctx, c, o, logf)
	if err != nil {
		return r, err
	}
	logf("warming up for %s", o.warmup)
	if err := srv.sleep(ctx, o.warmup); err != nil {
		return r, err
	}
	postmaster, pmErr := postmasterPID(dbURL)
	if pmErr != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("no Postgres CPU: %v", pmErr))
	}
	start, err := takeReading(ctx, c, srv.pid(), postmaster)
	if err != nil {
		return r, err
	}
	logf("measuring for %s", o.window)
	if err := srv.sleep(ctx, o.window); err != nil {
		return r, err
	}
	end, err := takeReading(ctx, c, srv.pid(), postmaster)
	if err != nil {
		return r, err
	}
	r.measured(start, end)

	// The count windows end at most half an interval after the measured one: let them
	// close, then stop probing so that the writer can catch up with a fixed total.
	if err := srv.sleep(ctx, o.interval); err != nil {
		return r, err
	}
	for _, g := range groups {
		if err := c.pauseGroup(ctx, g.ID); err != nil {
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
	r.Dropped = final.byLabel(metricDropped, "reason")
	if n := final.sum(metricPublishErrors); n > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%.0f batches failed to publish", n))
	}
	logf("checking the database")
	r.Stored, r.Rollups, err = verify(ctx, dbURL, targetsOf(groups), windowsWithin(start.at, end.at, o.interval), final.sum(metricPublished))
	return r, err
}

// reading is the server's state at one moment.
type reading struct {
	at        time.Time
	cpu       time.Duration // the server's user + system CPU so far
	mem       memory
	pgCPU     time.Duration // the cluster's CPU so far, if havePGCPU
	havePGCPU bool
	scrape    metrics
}

// takeReading reads the server's and the cluster's CPU (postmaster 0: unknown), the
// server's memory, then its metrics.
func takeReading(ctx context.Context, c *apiClient, pid, postmaster int) (reading, error) {
	r := reading{at: time.Now()}
	var err error
	if r.cpu, err = processCPU(pid); err != nil {
		return r, err
	}
	if r.mem, err = readMemory(pid); err != nil {
		return r, err
	}
	if postmaster > 0 {
		if cpu, err := clusterCPU(postmaster); err == nil {
			r.pgCPU, r.havePGCPU = cpu, true
		}
	}
	r.scrape, err = c.scrape(ctx)
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
	r.RSS, r.PeakRSS = end.mem.rss, end.mem.peak
	delta := func(name string) float64 { return end.scrape.sum(name) - start.scrape.sum(name) }
	r.ProbesPerSec = delta(metricProbesSent) / secs
	r.Published = delta(metricPublished)
	r.BusBytes = delta(metricBusBytes)
	r.ResultsPerSec = r.Published / secs
	r.BusBytesPerSec = r.BusBytes / secs
	r.WrittenPerSec = delta(metricWritten) / secs
	r.Backlog = end.scrape.sum(metricStreamMsgs)
}

// caughtUpQuiet is how long the counters must stand still, with nothing waiting on the
// bus, before the writer counts as caught up.
const caughtUpQuiet = 3 * time.Second

// waitCaughtUp scrapes until the writer has caught up (see caughtUp) and the result
// counters have stood still for caughtUpQuiet, or timeout passes (false).
func waitCaughtUp(ctx context.Context, c *apiClient, srv *serverProcess, timeout time.Duration) (metrics, bool, error) {
	deadline := time.Now().Add(timeout)
	var last metrics
	still := time.Now()
	for {
		m, err := c.scrape(ctx)
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
		if err := srv.sleep(ctx, 500*time.Millisecond); err != nil {
			return m, false, err
		}
	}
}

// caughtUp says nothing waits on the bus for the writer, and it has written at least
// what was published; a binary without the bus metrics passes both.
func caughtUp(m metrics) bool {
	waiting := m.sum(metricStreamMsgs)
	return !(waiting > 0) && !(m.sum(metricWritten) < m.sum(metricPublished))
}

// sameCounters says the result counters did not move between two scrapes.
func sameCounters(a, b metrics) bool {
	for _, name := range []string{metricProbesSent, metricPublished, metricWritten} {
		x, y := a.sum(name), b.sum(name)
		if x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
			return false
		}
	}
	return true
}
