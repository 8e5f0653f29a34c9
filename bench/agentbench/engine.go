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
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"pingdeck/bench/internal/instance"
	"pingdeck/bench/internal/storedonce"
	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/ping/shared"
)

// engineChildFlag, as the first argument, makes agentbench the engine alone: it probes
// the targets in a file with the engine pingdeck would pick, nothing else (hidden:
// only the parent uses it). Its log says when its window is, then what it probed in it.
const engineChildFlag = "-engine-child"

// The engine child's log messages.
const (
	msgWindow = "window" // engine, icmp_mode, start, end (RFC 3339)
	msgDone   = "done"   // results: probes sent in the window that reported
)

// childGrace is how long after its window (plus the probe timeout) the child waits,
// so that every probe sent in the window has reported.
const childGrace = time.Second

// runEngineChild is the engine alone, until the end of its window.
func runEngineChild(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("agentbench "+engineChildFlag, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("targets", "", "JSON file of the targets")
	name := fs.String("engine", "auto", "engine")
	interval := fs.Duration("interval", time.Second, "probe interval")
	warmup := fs.Duration("warmup", 0, "probing before the window")
	window := fs.Duration("window", time.Minute, "the window")
	if err := fs.Parse(args); err != nil {
		return err
	}
	targets, err := readTargets(*file, *interval)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	eng, err := newEngine(*name, log)
	if err != nil {
		return err
	}
	eng.Update(targets)
	start := time.Now().Add(*warmup)
	end := start.Add(*window)
	var inWindow atomic.Int64
	run, stop := context.WithCancel(ctx)
	defer stop()
	ran := make(chan error, 1)
	go func() {
		ran <- eng.Run(run, func(r ping.Result) {
			if !r.SentAt.Before(start) && r.SentAt.Before(end) {
				inWindow.Add(1)
			}
		})
	}()
	log.Info(msgWindow, "engine", eng.Name(), "icmp_mode", string(modeOf(eng)),
		"start", start.Format(time.RFC3339Nano), "end", end.Format(time.RFC3339Nano))
	timer := time.NewTimer(time.Until(end.Add(groups.DefaultTimeout + childGrace)))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		stop()
		<-ran
		return ctx.Err()
	case err := <-ran:
		return fmt.Errorf("engine stopped before the end of its window: %v", err)
	}
	log.Info(msgDone, "results", inWindow.Load())
	stop()
	return <-ran
}

// readTargets reads the targets the parent wrote, with the settings the benchmark's
// groups have: interval, and the default timeout and packet size.
func readTargets(file string, interval time.Duration) ([]ping.Target, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var ts []storedonce.Target
	if err := json.Unmarshal(b, &ts); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	out := make([]ping.Target, len(ts))
	for i, t := range ts {
		addr, err := netip.ParseAddr(t.Address)
		if err != nil || !addr.IsLoopback() {
			return nil, fmt.Errorf("%s: target %s: %q is not a loopback address", file, t.ID, t.Address)
		}
		out[i] = ping.Target{ID: t.ID, GroupID: "agentbench", Addr: addr, Interval: interval,
			Timeout: groups.DefaultTimeout, Size: groups.DefaultPacketSize}
	}
	return out, nil
}

// newEngine builds the engine as `pingdeck agent --ping-engine name` does (in auto ICMP
// mode): auto prefers the shared engine and falls back to pro-bing where it cannot run.
func newEngine(name string, log *slog.Logger) (ping.Engine, error) {
	m := ping.NewMetrics(nil)
	if name == "probing" {
		return ping.NewProbing(ping.ModeAuto, m, log)
	}
	e, err := shared.New(shared.Options{Mode: ping.ModeAuto, Metrics: m, Logger: log})
	if err == nil || name == "shared" || errors.Is(err, ping.ErrNoICMP) {
		return e, err
	}
	return ping.NewProbing(ping.ModeAuto, m, log)
}

func modeOf(e ping.Engine) ping.Mode {
	if m, ok := e.(interface{ Mode() ping.Mode }); ok {
		return m.Mode()
	}
	return ""
}

// engineRun is what the engine alone did in its window.
type engineRun struct {
	engine, mode string
	use          usage
	window       time.Duration
	results      int64 // probes sent in the window that reported
}

// childStartWait bounds how long the engine child may take to start probing.
const childStartWait = 30 * time.Second

// runEngineAlone runs the engine child on targets and measures it over its window.
func runEngineAlone(ctx context.Context, self, dir string, targets []storedonce.Target, o options) (engineRun, error) {
	var out engineRun
	file := filepath.Join(dir, "engine-targets.json")
	b, err := json.Marshal(targets)
	if err != nil {
		return out, err
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return out, err
	}
	p, line, err := instance.Start(ctx, instance.Spec{
		Name: "engine alone", Bin: self, Env: os.Environ(), LogPath: filepath.Join(dir, "engine.log"),
		Args: []string{engineChildFlag, "-targets", file, "-engine", o.engine, "-interval", o.interval.String(),
			"-warmup", o.warmup.String(), "-window", o.window.String()},
		Ready: func(line string) (string, bool) {
			_, ok := instance.LogField(line, msgWindow, "start")
			return line, ok
		},
		ReadyTimeout: childStartWait,
	})
	if err != nil {
		return out, err
	}
	defer p.Stop()
	out.engine, _ = instance.LogField(line, msgWindow, "engine")
	out.mode, _ = instance.LogField(line, msgWindow, "icmp_mode")
	start, err1 := logTime(line, "start")
	end, err2 := logTime(line, "end")
	if err := errors.Join(err1, err2); err != nil {
		return out, err
	}
	out.window = end.Sub(start)
	if out.use, err = measureOver(ctx, p, start, end); err != nil {
		return out, err
	}
	timer := time.NewTimer(time.Until(end.Add(groups.DefaultTimeout + childGrace + childStartWait)))
	defer timer.Stop()
	select {
	case <-p.Exited():
	case <-timer.C:
		return out, fmt.Errorf("engine alone: no end %s after its window; its log ends:\n%s", groups.DefaultTimeout+childGrace+childStartWait, p.LogTail(20))
	case <-ctx.Done():
		return out, ctx.Err()
	}
	if err := p.Err(); err != nil {
		return out, fmt.Errorf("engine alone: %v; its log ends:\n%s", err, p.LogTail(20))
	}
	n, ok := p.FindInLog(func(line string) (string, bool) { return instance.LogField(line, msgDone, "results") })
	if !ok {
		return out, fmt.Errorf("engine alone: no %q line in its log", msgDone)
	}
	out.results, err = strconv.ParseInt(n, 10, 64)
	return out, err
}

// logTime reads a time field of the child's window line.
func logTime(line, field string) (time.Time, error) {
	v, _ := instance.LogField(line, msgWindow, field)
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, fmt.Errorf("engine alone: window %s: %w", field, err)
	}
	return t, nil
}
