//go:build unix

// Command reportbench measures pingdeck's reports and result ingest on PostgreSQL:
// it seeds a day of 1 Hz results for a 1,000-target and a 100-target group (rollups
// for the whole day, raw rows for its last hours), times the ResultWriter against a
// plain COPY, then times reports through the real HTTP handler, and prints markdown
// tables. Run it with `make bench-report`; it uses a throwaway cluster unless
// PINGDECK_BENCH_DATABASE_URL names a database it may fill.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/store"
	"pingdeck/internal/store/storetest"
)

// envDatabaseURL points the benchmark at an existing, disposable database.
const envDatabaseURL = "PINGDECK_BENCH_DATABASE_URL"

type options struct {
	targets, small int           // the two groups' sizes
	hours          int           // length of the seeded day
	rawMinutes     int           // minutes written by each ingest path (raw rows exist for 2× this)
	runs           int           // timed runs per report (after one warm-up)
	timeout        time.Duration // the whole benchmark's bound
	cpuProfile     string        // where to write a CPU profile of the timed reports
}

func main() {
	gin.SetMode(gin.ReleaseMode) // gin's mode is process-wide; debug mode only adds noise
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "reportbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("reportbench", flag.ContinueOnError)
	fs.IntVar(&o.targets, "targets", 1000, "targets in the large group")
	fs.IntVar(&o.small, "small", 100, "targets in the small group")
	fs.IntVar(&o.hours, "hours", 24, "hours of 1 Hz results to seed (rollups for all of them)")
	fs.IntVar(&o.rawMinutes, "raw-minutes", 45, "minutes of results published on the bus for the database writer (the rest of the day is written by store.WriteResults)")
	fs.IntVar(&o.runs, "runs", 7, "timed runs per report; the table shows their median")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the timed reports to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.rawMinutes*2 > o.hours*60 {
		return fmt.Errorf("-raw-minutes %d: two of them must fit in -hours %d", o.rawMinutes, o.hours)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "reportbench: "+format+"\n", a...) }

	dbURL := os.Getenv(envDatabaseURL)
	if dbURL == "" {
		logf("starting a throwaway PostgreSQL cluster")
		u, stopCluster, err := storetest.Throwaway(ctx)
		if err != nil {
			return err
		}
		defer func() {
			if err := stopCluster(); err != nil {
				logf("stopping the cluster: %v", err)
			}
		}()
		dbURL = u
	}
	st, err := store.Open(ctx, dbURL, store.Options{Migrate: true})
	if err != nil {
		return err
	}
	defer st.Close()

	b, err := newBench(ctx, st, dbURL, o, logf)
	if err != nil {
		return err
	}
	defer b.close()
	if err := b.seed(ctx); err != nil {
		return err
	}
	if err := b.serve(); err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	reports, err := b.timeReports(ctx)
	b.print(stdout, reports) // what was measured, also when a later report failed
	return err
}
