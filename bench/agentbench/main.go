//go:build linux

// Command agentbench measures pingdeck's agents (`pingdeck agent`, issue 20): the real
// binary, enrolled with a real server on a throwaway PostgreSQL cluster, each agent
// probing its own loopback targets (spread over 127.64.0.0/10) at its own location.
//
//  1. The engine alone, then one agent: the shared engine probing an agent's N targets
//     in a child process of agentbench (no scheduler, no bus: what the agent is built
//     around), and then the agent probing the same targets as the server assigns them;
//     each process's CPU per probe and memory over a window of the same length.
//  2. Ingest: with one agent, then with -agents of them (N targets each, another
//     location and address range each), the results the server stored per second, its
//     CPU and the cluster's, each agent's CPU; then every result is checked to be
//     stored once (each target's raw rows over the window, one per interval).
//
// It prints markdown tables. Every step is bounded (-timeout for the whole run); the
// agents, the server, the engine child, their data and the cluster are removed also
// on error or interrupt.
//
//	make bench-agent BENCH_AGENT_ARGS="-n 1000 -agents 2 -window 20s"
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
	"pingdeck/bench/internal/procfs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentbench:", err)
		os.Exit(1)
	}
}

// options are the benchmark's settings.
type options struct {
	n        int           // targets per agent
	agents   int           // agents in the ingest phase
	perGroup int           // targets per group
	interval time.Duration // every target's probe interval
	warmup   time.Duration // probing before each window
	window   time.Duration // each measured window
	drain    time.Duration // longest wait for the results to be stored after the last window
	bin      string        // pingdeck binary; "" builds this tree's
	engine   string        // --ping-engine of the agents, and the engine measured alone
	timeout  time.Duration // the whole benchmark's bound
}

// maxAgents and maxTargets bound -agents and -n (targets per agent), so that a typo
// cannot turn the benchmark into a flood.
const (
	maxAgents  = 16
	maxTargets = 50_000
)

// run is agentbench with its arguments (args[0] is the program name).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 1 && args[1] == engineChildFlag {
		return runEngineChild(ctx, args[2:], stderr)
	}
	o, err := parseOptions(args[1:], stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "agentbench: "+format+"\n", a...) }
	if o.bin == "" {
		dir, err := os.MkdirTemp("", "agentbench-build-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		logf("building pingdeck")
		if o.bin, err = instance.Build(ctx, dir); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary (for the engine child): %w", err)
	}
	h := reportHeader{Date: time.Now(), Command: strings.Join(args, " "), CPUs: runtime.NumCPU(), LoadBefore: procfs.LoadAverage(), Options: o}
	res, err := measure(ctx, o, self, logf)
	h.LoadAfter = procfs.LoadAverage()
	if err != nil {
		res.Failure = err.Error()
	}
	if werr := writeReport(stdout, h, res); werr != nil {
		err = errors.Join(err, werr)
	}
	return err
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("agentbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.n, "n", 5000, "loopback targets per agent")
	fs.IntVar(&o.agents, "agents", 4, "agents in the ingest phase, each at a location of its own with -n targets")
	fs.IntVar(&o.perGroup, "group-size", 500, "targets per group (one POST /api/v1/groups each)")
	fs.DurationVar(&o.interval, "interval", time.Second, "every target's probe interval")
	fs.DurationVar(&o.warmup, "warmup", 15*time.Second, "probing before each measured window")
	fs.DurationVar(&o.window, "window", 60*time.Second, "each measured window")
	fs.DurationVar(&o.drain, "drain", 3*time.Minute, "longest wait, after the groups are paused, for every result to be stored")
	fs.StringVar(&o.bin, "bin", "", "pingdeck binary to run as server and agents (default: build ./cmd/server of this tree)")
	fs.StringVar(&o.engine, "engine", "auto", "probe engine of the agents and of the engine measured alone: auto, shared or probing")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return o, o.validate()
}

func (o options) validate() error {
	switch {
	case o.agents < 1 || o.agents > maxAgents:
		return fmt.Errorf("-agents %d: must be 1 to %d", o.agents, maxAgents)
	case o.n < 1 || o.n > maxTargets:
		return fmt.Errorf("-n %d: must be 1 to %d", o.n, maxTargets)
	case o.perGroup < 1 || o.perGroup > 10000:
		return fmt.Errorf("-group-size %d: must be 1 to 10000 (the most one request may add)", o.perGroup)
	case o.interval < 200*time.Millisecond || o.interval%time.Millisecond != 0 || o.interval > time.Hour:
		return fmt.Errorf("-interval %s: must be whole milliseconds from 200ms (the server's smallest) to 1h", o.interval)
	case o.window < 2*o.interval:
		return fmt.Errorf("-window %s: must hold at least two intervals", o.window)
	case o.warmup < 0 || o.drain <= 0 || o.timeout <= 0:
		return errors.New("-warmup must not be negative; -drain and -timeout must be positive")
	}
	switch o.engine {
	case "auto", "shared", "probing":
	default:
		return fmt.Errorf("-engine %q: must be auto, shared or probing", o.engine)
	}
	return nil
}
