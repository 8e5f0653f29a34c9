//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"pingdeck/internal/ping"
)

// childFlag, as the first argument, makes pingbench run one engine cell and report
// on stdout (hidden: only the parent uses it).
const childFlag = "-child"

// cellConfig is one cell of the matrix: one engine on N targets.
type cellConfig struct {
	Engine   string
	N        int
	Warmup   time.Duration
	Duration time.Duration
	Interval time.Duration
	Timeout  time.Duration
	Size     int
	Mode     ping.Mode
	// SniffEvery is the reference sniffer's sampling: one address in every (see
	// sampled). The cell keeps those targets' RTTs apart to compare like with like.
	SniffEvery int
}

// expected is how many probes the window should hold if every target is probed on
// schedule.
func (c cellConfig) expected() int64 {
	return int64(float64(c.N) * c.Duration.Seconds() / c.Interval.Seconds())
}

// args are the child command line for c.
func (c cellConfig) args() []string {
	return []string{childFlag,
		"-engine", c.Engine, "-n", strconv.Itoa(c.N),
		"-warmup", c.Warmup.String(), "-duration", c.Duration.String(),
		"-interval", c.Interval.String(), "-timeout", c.Timeout.String(),
		"-size", strconv.Itoa(c.Size), "-mode", string(c.Mode), "-sniff-every", strconv.Itoa(c.SniffEvery)}
}

func parseChildArgs(args []string, stderr io.Writer) (cellConfig, error) {
	var c cellConfig
	fs := flag.NewFlagSet("pingbench "+childFlag, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Engine, "engine", "", "engine")
	fs.IntVar(&c.N, "n", 0, "targets")
	fs.DurationVar(&c.Warmup, "warmup", 0, "warm-up")
	fs.DurationVar(&c.Duration, "duration", 0, "measured window")
	fs.DurationVar(&c.Interval, "interval", time.Second, "probe interval")
	fs.DurationVar(&c.Timeout, "timeout", time.Second, "probe timeout")
	fs.IntVar(&c.Size, "size", 56, "payload bytes")
	mode := fs.String("mode", string(ping.ModeAuto), "ICMP mode")
	fs.IntVar(&c.SniffEvery, "sniff-every", 1, "the sniffer samples one address in this many")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("child: %w", err)
	}
	c.Mode = ping.Mode(*mode)
	if c.Duration <= 0 || c.Warmup < 0 {
		return c, errors.New("child: -duration must be > 0 and -warmup ≥ 0")
	}
	return c, nil
}

// childEvent is one line of a child's stdout: first "window" (when the window is),
// then "done" (with the stats) or "failed".
type childEvent struct {
	Kind     string      `json:"kind"`
	Mode     ping.Mode   `json:"mode,omitempty"`
	Start    int64       `json:"start,omitempty"` // window, Unix ns
	End      int64       `json:"end,omitempty"`
	Stats    *probeStats `json:"stats,omitempty"`
	Error    string      `json:"error,omitempty"`
	NotBuilt bool        `json:"not_built,omitempty"`
}

// childGrace is how long after the end of the window (plus the timeout) a child
// keeps running, so that every probe sent in the window has reported.
const childGrace = time.Second

// runChild runs one engine on the cell's targets and reports on stdout. Failures to
// start the engine are reported as a "failed" event, not as an error, so the parent
// can put them in the table.
func runChild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseChildArgs(args, stderr)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	fail := func(err error) error {
		return enc.Encode(childEvent{Kind: "failed", Error: err.Error(), NotBuilt: errors.Is(err, errEngineNotBuilt)})
	}
	targets, err := loopbackTargets(cfg.N, cfg.Interval, cfg.Timeout, cfg.Size)
	if err != nil {
		return fail(err)
	}
	inSample := make(map[string]bool, len(targets))
	for _, t := range targets {
		inSample[t.ID] = sampled(t.Addr, cfg.SniffEvery)
	}
	raiseFileLimit(uint64(cfg.N) + 1024)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, mode, err := newEngine(cfg.Engine, cfg.Mode, log)
	if err != nil {
		return fail(err)
	}
	eng.Update(targets)
	if dir := os.Getenv(profileDirEnv); dir != "" {
		stopProfile, err := startCPUProfile(dir, cfg)
		if err != nil {
			return fail(err)
		}
		defer stopProfile()
	}

	start := time.Now()
	win := window{Start: start.Add(cfg.Warmup), End: start.Add(cfg.Warmup + cfg.Duration)}
	col := newCollector(win)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runDone := make(chan error, 1)
	go func() {
		runDone <- eng.Run(runCtx, func(r ping.Result) { col.add(r.SentAt, r.OK, r.RTT, r.Err, inSample[r.TargetID]) })
	}()
	if err := enc.Encode(childEvent{Kind: "window", Mode: mode, Start: win.Start.UnixNano(), End: win.End.UnixNano()}); err != nil {
		cancel()
		<-runDone
		return fmt.Errorf("child: report window: %w", err)
	}

	timer := time.NewTimer(time.Until(win.End.Add(cfg.Timeout + childGrace)))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		cancel()
		<-runDone
		return fail(fmt.Errorf("interrupted: %w", ctx.Err()))
	case err := <-runDone:
		if err == nil {
			err = errors.New("Run returned before the end of the window")
		}
		return fail(fmt.Errorf("engine %s: run: %w", cfg.Engine, err))
	}
	// Report before stopping the engine: an engine drowning in its own load (pro-bing
	// with thousands of raw sockets) can take longer to stop than the parent waits.
	stats := col.result()
	if err := enc.Encode(childEvent{Kind: "done", Mode: mode, Stats: &stats}); err != nil {
		cancel()
		<-runDone
		return fmt.Errorf("child: report: %w", err)
	}
	cancel()
	if err := <-runDone; err != nil {
		return fmt.Errorf("child: engine %s: run: %w", cfg.Engine, err)
	}
	return nil
}

// profileDirEnv names a directory; when set, each engine child writes a CPU profile
// of its whole run there as <engine>-<N>.pprof (for `go tool pprof`).
const profileDirEnv = "PINGBENCH_CPUPROFILE_DIR"

func startCPUProfile(dir string, cfg cellConfig) (stop func(), err error) {
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", cfg.Engine, cfg.N)))
	if err != nil {
		return nil, fmt.Errorf("child: CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("child: CPU profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// raiseFileLimit lifts RLIMIT_NOFILE to at least n (the probing engine holds one
// socket per target). It is best effort: a failure shows up as send errors.
func raiseFileLimit(n uint64) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil || lim.Cur >= n {
		return
	}
	lim.Cur = n
	lim.Max = max(lim.Max, n) // raising the hard limit needs root; fine if refused
	if unix.Setrlimit(unix.RLIMIT_NOFILE, &lim) != nil {
		lim.Cur = min(n, lim.Max)
		_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	}
}

// engineOutcome is what the parent learned from one engine or fping cell.
type engineOutcome struct {
	Mode     ping.Mode
	Win      window
	Stats    probeStats
	Usage    usage
	Status   string // non-empty when the cell has no numbers: "not built", "refused (…)", "failed: …"
	Warnings string // worth a note under the table
}

// runEngineCell runs cfg in a child process (pingbench itself, re-executed) so that
// the CPU and memory measured are that engine's alone.
func runEngineCell(ctx context.Context, exe string, cfg cellConfig, stderr io.Writer) (out engineOutcome) {
	ctx, cancel := context.WithTimeout(ctx, cellDeadline(cfg))
	defer cancel()
	events := make(chan childEvent, 4) // a child writes two events; more are dropped
	onLine := func(line string) {
		var ev childEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			ev = childEvent{Kind: "failed", Error: fmt.Sprintf("bad child output %q: %v", line, err)}
		}
		select {
		case events <- ev:
		default:
		}
	}
	p, err := startProcess(ctx, exe, cfg.args(), stderr, onLine)
	if err != nil {
		return engineOutcome{Status: "failed: " + err.Error()}
	}
	defer func() { // the summary is in: stop the child, killing it if it dawdles
		if err := p.interrupt(); err != nil && out.Status == "" {
			fmt.Fprintf(stderr, "pingbench: %s N=%d: child exit: %v\n", cfg.Engine, cfg.N, err)
		}
	}()

	// next waits for the child's next event, until it exits or by the deadline.
	next := func(deadline time.Time) (childEvent, bool) {
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		select {
		case ev := <-events:
			return ev, true
		case <-timer.C:
			return childEvent{}, false
		case <-p.exited:
			select { // the last line may have raced the exit
			case ev := <-events:
				return ev, true
			default:
				return childEvent{}, false
			}
		}
	}
	ev, ok := next(time.Now().Add(startupWait))
	if !ok {
		return engineOutcome{Status: "failed: child did not start within " + startupWait.String()}
	}
	if ev.Kind != "window" {
		return failedOutcome(ev)
	}
	out = engineOutcome{Mode: ev.Mode, Win: window{Start: time.Unix(0, ev.Start), End: time.Unix(0, ev.End)}}
	out.Usage, err = measureWindow(ctx, p.pid(), out.Win, p.exited)
	if err != nil && !errors.Is(err, errExitedEarly) {
		out.Status = "failed: measure: " + err.Error()
		return out
	}
	ev, ok = next(out.Win.End.Add(cfg.Timeout + childGrace + summaryWait))
	switch {
	case !ok:
		out.Status = fmt.Sprintf("failed: no summary within %s of the window's end (engine overloaded?)",
			cfg.Timeout+childGrace+summaryWait)
	case ev.Kind != "done" || ev.Stats == nil:
		fo := failedOutcome(ev)
		out.Status = fo.Status
	default:
		out.Stats = *ev.Stats
		if err != nil {
			out.Status = "failed: " + err.Error()
		}
	}
	return out
}

func failedOutcome(ev childEvent) engineOutcome {
	if ev.NotBuilt {
		return engineOutcome{Status: "not built"}
	}
	return engineOutcome{Status: "failed: " + ev.Error}
}

// startupWait bounds how long a child may take to start its engine (20,000
// pro-bing Pingers take a while), and summaryWait how late its summary may be.
const (
	startupWait = 30 * time.Second
	summaryWait = 15 * time.Second
)

// cellDeadline bounds a whole cell, start-up and shutdown included, so that a stuck
// engine cannot hold the run.
func cellDeadline(cfg cellConfig) time.Duration {
	return startupWait + cfg.Warmup + cfg.Duration + cfg.Timeout + childGrace + summaryWait + stopGrace
}
