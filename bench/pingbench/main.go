//go:build linux

// Command pingbench measures pingdeck's probe engines side by side with fping:
// for each target count N it runs the pro-bing engine, the shared-socket engine and
// `fping -l` on N loopback addresses at one probe per second, each in its own
// process, and prints a markdown table of CPU, memory, loss and RTT accuracy against
// kernel timestamps taken on lo.
//
// It sends ICMP only to 127.0.0.0/8, every cell stops by itself, and it needs root
// (raw sockets for the engines and fping, AF_PACKET for the reference sniffer).
//
//	go build -o bin/pingbench ./bench/pingbench && sudo ./bin/pingbench -n 1000 -duration 10s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"pingdeck/internal/ping"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, errAlreadyReported) {
		os.Exit(1)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pingbench:", err)
		os.Exit(1)
	}
}

// run is pingbench with its arguments (args[0] is the program name) and outputs.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 1 && args[1] == childFlag {
		return runChild(ctx, args[2:], stdout, stderr)
	}
	inNetns := len(args) > 1 && args[1] == netnsFlag
	if inNetns {
		args = append([]string{args[0]}, args[2:]...)
	}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	switch {
	case cfg.Netns && !inNetns:
		return runInNetns(ctx, args, stdout, stderr)
	case inNetns:
		if err := loopbackUp(); err != nil {
			return err
		}
		if cfg.AllowDatagram || slices.Contains(cfg.Modes, ping.ModeUnprivileged) {
			if err := allowPingSockets(); err != nil {
				return err
			}
		}
	}
	b, err := newBench(cfg, stderr)
	if err != nil {
		return err
	}
	rows := b.runMatrix(ctx)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	h := header{
		Command:  commandLine(args),
		Date:     time.Now(),
		Machine:  machineInfo(b.fpingVersion),
		Settings: cfg.describe(),
	}
	if err := writeReport(stdout, h, rows); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// config is the matrix to run.
type config struct {
	Ns       []int
	Engines  []string
	Warmup   time.Duration
	Duration time.Duration
	Interval time.Duration
	Timeout  time.Duration
	Size     int
	// Modes are the ICMP modes the shared engine is measured in, the first of them
	// also the probing engine's. fping chooses its own (raw sockets, as root).
	Modes         []ping.Mode
	ProbingMax    int
	Cooldown      time.Duration
	Netns         bool
	AllowDatagram bool // set net.ipv4.ping_group_range in the benchmark's namespace
	Sniff         bool
	SniffEvery    int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	ns := fs.String("n", "1000,5000,10000,20000", "comma-separated target counts")
	engines := fs.String("engines", strings.Join([]string{engineProbing, engineShared, engineFping}, ","),
		"comma-separated engines: probing, shared, fping")
	fs.DurationVar(&c.Warmup, "warmup", 3*time.Second, "warm-up before each measured window")
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "measured window per cell")
	fs.DurationVar(&c.Interval, "interval", time.Second, "probe interval per target")
	fs.DurationVar(&c.Timeout, "timeout", time.Second, "probe timeout")
	fs.IntVar(&c.Size, "size", 56, "ICMP payload bytes")
	modes := fs.String("mode", string(ping.ModeAuto)+","+string(ping.ModePrivileged),
		"comma-separated ICMP modes to measure the shared engine in (auto, unprivileged, privileged); the probing engine runs in the first")
	fs.IntVar(&c.ProbingMax, "probing-max", 5000,
		"skip probing cells above this N: each pro-bing raw socket gets a copy of every ICMP packet, so its kernel cost grows with N² and saturates the machine")
	fs.DurationVar(&c.Cooldown, "cooldown", 2*time.Second, "pause between cells")
	fs.BoolVar(&c.Sniff, "sniff", true,
		"take reference RTTs with a packet sniffer on lo (its kernel cost is charged to the engine's CPU, so it samples: see -sniff-every)")
	fs.IntVar(&c.SniffEvery, "sniff-every", 16,
		"the sniffer captures the traffic of one target address in this many (a power of two; 1: all); the others cost it a filter run each, not a copy")
	fs.BoolVar(&c.AllowDatagram, "allow-datagram", true,
		"in the benchmark's namespace, let every group open datagram ICMP sockets (net.ipv4.ping_group_range, the recommended production setting), so -mode auto takes them")
	fs.BoolVar(&c.Netns, "netns", true,
		"run in a private network namespace, so other loopback ICMP on this machine and the benchmark cannot disturb each other")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s [flags]\n\nBenchmarks pingdeck's probe engines and fping on loopback addresses (needs root).\n\n", args[0])
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for f := range strings.SplitSeq(*modes, ",") {
		m := ping.Mode(strings.TrimSpace(f))
		if !slices.Contains([]ping.Mode{ping.ModeAuto, ping.ModeUnprivileged, ping.ModePrivileged}, m) {
			return c, fmt.Errorf("-mode: unknown ICMP mode %q", m)
		}
		c.Modes = append(c.Modes, m)
	}
	for f := range strings.SplitSeq(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return c, fmt.Errorf("-n: %w", err)
		}
		c.Ns = append(c.Ns, n)
	}
	for f := range strings.SplitSeq(*engines, ",") {
		e := strings.TrimSpace(f)
		if !slices.Contains([]string{engineProbing, engineShared, engineFping}, e) {
			return c, fmt.Errorf("-engines: unknown engine %q", e)
		}
		c.Engines = append(c.Engines, e)
	}
	return c, c.validate()
}

// validate keeps every cell bounded in targets and time.
func (c config) validate() error {
	var errs []error
	if c.Duration <= 0 || c.Duration > 10*time.Minute {
		errs = append(errs, errors.New("-duration must be in (0, 10m]"))
	}
	if c.Warmup < 0 || c.Warmup > time.Minute {
		errs = append(errs, errors.New("-warmup must be in [0, 1m]"))
	}
	if c.Timeout <= 0 || c.Timeout > 10*time.Second {
		errs = append(errs, errors.New("-timeout must be in (0, 10s]"))
	}
	if _, err := echoFilter(c.SniffEvery); err != nil {
		errs = append(errs, fmt.Errorf("-sniff-every: %w", err))
	}
	if c.Size < 0 || c.Size > 1400 {
		errs = append(errs, errors.New("-size must be in [0, 1400]"))
	}
	for _, n := range c.Ns {
		if _, err := loopbackTargets(n, c.Interval, c.Timeout, c.Size); err != nil {
			errs = append(errs, fmt.Errorf("-n %d: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// describe is the cell settings in words, for the report.
func (c config) describe() string {
	where := "in a private network namespace (its own lo)"
	switch {
	case !c.Netns:
		where = "on the host's lo, shared with anything else pinging 127.0.0.0/8"
	case c.AllowDatagram:
		where += ` with net.ipv4.ping_group_range "0 2147483647" (datagram ICMP sockets allowed)`
	}
	sniff := "no reference sniffer"
	if c.Sniff {
		sniff = fmt.Sprintf("reference sniffer on the traffic of one target address in %d", c.SniffEvery)
	}
	modes := make([]string, len(c.Modes))
	for i, m := range c.Modes {
		modes[i] = string(m)
	}
	return fmt.Sprintf("N targets on distinct addresses 127.1.0.1… (254 per /24), one probe every %s each, "+
		"timeout %s, %d-byte payload; %s warm-up, then a %s measured window; shared engine in ICMP mode %s, probing in %s; "+
		"probing skipped above N=%d; %s; %s",
		c.Interval, c.Timeout, c.Size, c.Warmup, c.Duration, strings.Join(modes, " and "), c.Modes[0], c.ProbingMax, sniff, where)
}

// commandLine is how pingbench was started, for the report.
func commandLine(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if a == "" || strings.ContainsAny(a, " \t\"'$`\\") {
			q[i] = strconv.Quote(a)
		}
	}
	return strings.Join(q, " ")
}
