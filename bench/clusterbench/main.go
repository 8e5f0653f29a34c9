//go:build linux

// Command clusterbench measures several pingdeck replicas (issue 21): it starts R
// replicas of the real binary on one throwaway Postgres, their embedded NATS servers
// clustered on loopback, gives them R × T loopback targets at 1 Hz (public groups of
// 500) and C WebSocket clients spread over the replicas, each following one group.
// After a warm-up it measures each replica's CPU and the delivery of results to the
// clients (sent + RTT → received, most of them probed on another replica: with R
// replicas, R−1 of R); then it kills one replica (SIGKILL) and measures how long its
// targets go unprobed. It prints a markdown table.
//
//	go build -o bin/clusterbench ./bench/clusterbench && ./bin/clusterbench
//	./bin/clusterbench -replicas 3 -targets 5000 -clients 1000   # the size (the default)
//	./bin/clusterbench -targets 200 -clients 30 -measure 10s     # a quick check
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"pingdeck/bench/internal/instance"
	"pingdeck/bench/internal/mdtable"
	"pingdeck/bench/internal/procfs"
	"pingdeck/internal/store/storetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
}

// config is one run's settings.
type config struct {
	Replicas, Targets, Clients int
	Interval, Warmup, Measure  time.Duration
	DB                         string
}

func run(ctx context.Context, args []string) error {
	var c config
	fs := flag.NewFlagSet("clusterbench", flag.ContinueOnError)
	fs.IntVar(&c.Replicas, "replicas", 3, "replicas (3 or more: JetStream keeps three copies)")
	fs.IntVar(&c.Targets, "targets", 5000, "loopback targets per replica (all replicas share them, split by leases)")
	fs.IntVar(&c.Clients, "clients", 1000, "WebSocket clients, spread over the replicas, each following one group")
	fs.DurationVar(&c.Interval, "interval", time.Second, "probe interval")
	fs.DurationVar(&c.Warmup, "warmup", 20*time.Second, "time before measuring")
	fs.DurationVar(&c.Measure, "measure", 30*time.Second, "measurement window")
	fs.StringVar(&c.DB, "db", "", "postgres:// URL of an empty database (default: a throwaway cluster)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.Replicas < 2 || c.Targets < 1 || c.Clients < 1 {
		return fmt.Errorf("need at least 2 replicas, 1 target and 1 client")
	}
	dir, err := os.MkdirTemp("", "clusterbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := instance.Build(ctx, dir)
	if err != nil {
		return err
	}
	if c.DB == "" {
		url, stopDB, err := storetest.Throwaway(ctx)
		if err != nil {
			return fmt.Errorf("throwaway Postgres: %w", err)
		}
		defer stopDB()
		c.DB = url
	}
	cl, err := startCluster(ctx, bin, dir, c)
	if err != nil {
		return err
	}
	defer cl.stop()

	groups, err := cl.makeGroups(ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "clusterbench: %d replicas, %d targets in %d groups; connecting %d clients\n", c.Replicas, c.Replicas*c.Targets, len(groups), c.Clients)
	clients, err := connectClients(ctx, cl, groups, c.Clients)
	if err != nil {
		return err
	}
	defer clients.close()
	// A watcher on replica 0 follows every group: it sees when the killed replica's
	// targets are probed again.
	watcher, err := connectWatcher(ctx, cl, 0, groups)
	if err != nil {
		return err
	}
	defer watcher.close()
	if err := sleep(ctx, c.Warmup); err != nil {
		return err
	}

	cpu0 := cl.cpu()
	clients.reset()
	start := time.Now()
	if err := sleep(ctx, c.Measure); err != nil {
		return err
	}
	elapsed := time.Since(start)
	cpu1 := cl.cpu()
	lat := clients.latencies()

	victim := c.Replicas - 1
	killedAt := time.Now()
	cl.kill(victim)
	failover, err := watcher.waitAllAfter(ctx, killedAt, c.Replicas*c.Targets, 30*time.Second)
	if err != nil {
		return err
	}

	t := mdtable.Table{Header: []string{"replicas", "targets", "clients", "CPU per replica (% of a core)", "delivery p50 (ms)", "delivery p99 (ms)", "results delivered", "failover after kill -9 (s)"}, Text: []int{3}}
	var cpus string
	for i := range cpu0 {
		if i > 0 {
			cpus += " / "
		}
		cpus += mdtable.Number(100*float64(cpu1[i]-cpu0[i])/float64(elapsed), 1)
	}
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	t.Rows = append(t.Rows, []string{fmt.Sprint(c.Replicas), fmt.Sprint(c.Replicas * c.Targets), fmt.Sprint(c.Clients), cpus,
		mdtable.Number(p50.Seconds()*1000, 0), mdtable.Number(p99.Seconds()*1000, 0), fmt.Sprint(len(lat)), mdtable.Number(failover.Seconds(), 1)})
	fmt.Printf("\nclusterbench, %s, load %s\n\n", time.Now().UTC().Format(time.DateOnly), procfs.LoadAverage())
	return t.Write(os.Stdout)
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*p/100)]
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
