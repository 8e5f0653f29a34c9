//go:build linux

// Command storagebench measures what probe results cost on disk (issue 23): the real
// binary on SQLite and on a throwaway PostgreSQL takes -minutes of results of -n
// targets at 1 Hz, sent by a program speaking as an enrolled agent (1 % loss, RTT
// jitter and send-time lag as real links and the engine have), through its bus and
// its database writer; once every result is taken, the server is stopped (storing
// what it holds) and the results' tables are measured: SQLite's files on disk,
// PostgreSQL's pg_total_relation_size of every results table, partition and index.
// With -compare, an older binary takes the same results, in the same run.
//
//	make bench-storage BENCH_STORAGE_ARGS="-compare bin/pingdeck-old"
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"pingdeck/bench/internal/instance"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "storagebench:", err)
		os.Exit(1)
	}
}

// options are the benchmark's settings.
type options struct {
	n        int           // targets
	minutes  int           // minutes of 1 Hz results
	loss     float64       // share of probes lost
	dbs      []string      // "sqlite", "postgres"
	compare  string        // an older pingdeck binary, measured after this tree's
	timeout  time.Duration // the whole run's bound
	perGroup int
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	var dbs string
	fs := flag.NewFlagSet("storagebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.n, "n", 1000, "targets")
	fs.IntVar(&o.minutes, "minutes", 10, "minutes of results at 1 Hz")
	fs.Float64Var(&o.loss, "loss", 0.01, "share of probes lost")
	fs.StringVar(&dbs, "db", "sqlite,postgres", "databases to measure")
	fs.StringVar(&o.compare, "compare", "", "an older pingdeck binary to measure too, in the same run")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long")
	keep := fs.Bool("keep", false, "keep the servers' directories (SQLite files, logs) and say where")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.dbs = strings.Split(dbs, ",")
	o.perGroup = 100
	if o.n <= 0 || o.minutes <= 0 || o.loss < 0 || o.loss >= 1 {
		return errors.New("-n and -minutes must be positive, -loss in [0, 1)")
	}
	for _, db := range o.dbs {
		if db != "sqlite" && db != "postgres" {
			return fmt.Errorf("-db: %q is neither sqlite nor postgres", db)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "storagebench: "+format+"\n", a...) }
	dir, err := os.MkdirTemp("", "storagebench-")
	if err != nil {
		return err
	}
	if *keep {
		logf("keeping %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	self, err := instance.Build(ctx, dir)
	if err != nil {
		return err
	}
	builds := []build{{"this tree", self}}
	if o.compare != "" {
		builds = append(builds, build{"previous (" + o.compare + ")", o.compare})
	}
	start := time.Now()
	var rows []result
	for _, b := range builds {
		for _, db := range o.dbs {
			logf("%s on %s: %d targets × %d min", b.name, db, o.n, o.minutes)
			r, err := measure(ctx, o, b, db, dir, logf)
			if err != nil {
				return fmt.Errorf("%s on %s: %w", b.name, db, err)
			}
			rows = append(rows, r)
		}
	}
	return writeReport(stdout, o, rows, start)
}

// build is a pingdeck binary measured.
type build struct{ name, bin string }
