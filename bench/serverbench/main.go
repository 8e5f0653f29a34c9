//go:build linux

// Command serverbench measures the whole pingdeck server: the real binary, on a
// throwaway PostgreSQL cluster (or, with -db sqlite, the embedded default: a SQLite
// file), probing N loopback targets (spread over 127.64.0.0/10) through its embedded
// bus into the database. After a warm-up it measures a window: the server's CPU and
// memory, the cluster's CPU, the results and bytes the prober published on the bus,
// what the database writer wrote and what was dropped. Then it pauses the groups,
// waits for the writer to catch up, stops the server, and checks in the database that
// every result was stored once: each target's stored probes over the window, all
// stored probes against all results published, and the rollups against the probes.
//
// It prints a markdown table, one row per server binary: the one built from this tree
// (or -bin), and with -compare OLD_BIN another one run after it on a fresh database;
// what an older binary does not export is "n/a". With -fping, Debian's fping then
// probes the same targets at the same interval for the same warm-up and window, as a
// row of its own, and a line a server row gives the server's CPU over fping's (issue
// 23: the whole server within 1.5× of fping on the embedded default).
//
//	make bench-server BENCH_SERVER_ARGS="-n 2000 -window 20s"
//	make bench-server-fping    # -n 5000 -db sqlite -fping
//	go build -o bin/serverbench ./bench/serverbench && ./bin/serverbench -compare /tmp/pingdeck-old
//
// Every step is bounded (-timeout for the whole run); the server, its data dir and the
// cluster are removed also on error or interrupt.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"pingdeck/bench/internal/instance"
	"pingdeck/bench/internal/loopback"
	"pingdeck/bench/internal/procfs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "serverbench:", err)
		os.Exit(1)
	}
}

// options are one benchmark's settings.
type options struct {
	n          int           // targets
	perGroup   int           // targets per group
	interval   time.Duration // every target's probe interval
	warmup     time.Duration // probing before the window
	window     time.Duration // the measured window
	drain      time.Duration // longest wait for the writer to catch up after the window
	bin        string        // server binary; "" builds this tree's
	compare    string        // a second binary, run after the first
	engine     string        // --ping-engine, if set
	db         string        // dbPostgres or dbSQLite
	fping      bool          // also measure fping on the same targets
	serverArgs []string      // more server flags
	timeout    time.Duration // the whole benchmark's bound
}

// The databases -db names.
const (
	dbPostgres = "postgres"
	dbSQLite   = "sqlite"
)

// binary is a server binary to measure and the name its row goes by.
type binary struct{ path, label string }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("serverbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.n, "n", 20000, "loopback targets to probe")
	fs.IntVar(&o.perGroup, "group-size", 500, "targets per group (one POST /api/v1/groups each)")
	fs.DurationVar(&o.interval, "interval", time.Second, "every target's probe interval")
	fs.DurationVar(&o.warmup, "warmup", 20*time.Second, "probing before the measured window, after the last group is made")
	fs.DurationVar(&o.window, "window", 60*time.Second, "measured window")
	fs.DurationVar(&o.drain, "drain", 3*time.Minute, "longest wait, after the groups are paused, for the database writer to catch up")
	fs.StringVar(&o.bin, "bin", "", "server binary to measure (default: build ./cmd/server of this tree)")
	fs.StringVar(&o.compare, "compare", "", "another server binary (an older build, say) measured after the first, on a fresh cluster")
	fs.StringVar(&o.engine, "engine", "", "--ping-engine for the server (default: the server's own)")
	fs.StringVar(&o.db, "db", dbPostgres, "the server's database: postgres (a throwaway cluster) or sqlite (the embedded default, a file in its data dir)")
	fs.BoolVar(&o.fping, "fping", false, "after the server(s), run fping (apt-get install -y fping) on the same targets, warm-up and window, and give each server's CPU over fping's")
	extra := fs.String("server-args", "", "more server flags, space-separated")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.serverArgs = strings.Fields(*extra)
	if err := o.validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "serverbench: "+format+"\n", a...) }

	var bins []binary
	if o.bin == "" {
		dir, err := os.MkdirTemp("", "serverbench-build-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		logf("building the server")
		path, err := instance.Build(ctx, dir)
		if err != nil {
			return err
		}
		bins = append(bins, binary{path: path, label: "this tree"})
	} else {
		bins = append(bins, binary{path: o.bin, label: o.bin})
	}
	if o.compare != "" {
		bins = append(bins, binary{path: o.compare, label: o.compare})
	}

	loadBefore := procfs.LoadAverage()
	var rows []row
	var errs []error
	for _, b := range bins {
		if ctx.Err() != nil {
			break
		}
		r, err := runOne(ctx, o, b, logf)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", b.label, err))
			r.Err = err.Error()
		}
		rows = append(rows, r)
	}
	var fp *fpingRun
	if o.fping && ctx.Err() == nil {
		f, err := runFping(ctx, o, logf)
		if err != nil {
			errs = append(errs, err)
			f.Err = err.Error()
		}
		fp = &f
	}
	writeReport(stdout, reportHeader{
		Date: time.Now(), CPUs: runtime.NumCPU(), LoadBefore: loadBefore, LoadAfter: procfs.LoadAverage(),
		Warmup: o.warmup, Window: o.window, PerGroup: o.perGroup, DB: o.db,
	}, rows, fp)
	return errors.Join(errs...)
}

func (o options) validate() error {
	switch {
	case o.n < 1 || o.n > loopback.MaxTargets:
		return fmt.Errorf("-n %d: must be 1 to %d", o.n, loopback.MaxTargets)
	case o.perGroup < 1 || o.perGroup > 10000:
		return fmt.Errorf("-group-size %d: must be 1 to 10000 (the most one request may add)", o.perGroup)
	case o.interval < 200*time.Millisecond:
		return fmt.Errorf("-interval %s: must be at least 200ms (the server's smallest)", o.interval)
	case o.interval%time.Millisecond != 0 || o.interval > time.Hour:
		return fmt.Errorf("-interval %s: must be whole milliseconds, at most 1h", o.interval)
	case o.window < 2*o.interval:
		return fmt.Errorf("-window %s: must hold at least two intervals", o.window)
	case o.warmup < 0 || o.drain <= 0:
		return errors.New("-warmup and -drain must not be negative")
	case o.db != dbPostgres && o.db != dbSQLite:
		return fmt.Errorf("-db %q: must be %s or %s", o.db, dbPostgres, dbSQLite)
	}
	return nil
}
