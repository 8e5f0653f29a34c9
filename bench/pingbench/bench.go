//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"pingdeck/internal/ping"
)

// bench runs the matrix of a config.
type bench struct {
	cfg          config
	exe          string // this binary, re-executed for engine cells
	fping        string // fping's path, when usable
	fpingVersion string
	fpingErr     error // why fping cells cannot run
	log          io.Writer
}

func newBench(cfg config, log io.Writer) (*bench, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own binary: %w", err)
	}
	b := &bench{cfg: cfg, exe: exe, log: log}
	b.fping, b.fpingVersion, b.fpingErr = fpingBinary()
	if os.Geteuid() != 0 {
		fmt.Fprintln(log, "pingbench: not root: the reference sniffer and raw ICMP sockets will likely be refused")
	}
	return b, nil
}

// runMatrix runs every cell, N by N, and returns the rows in table order. It stops
// early, with the rows so far, when ctx ends.
func (b *bench) runMatrix(ctx context.Context) []row {
	total := 0
	for _, e := range b.cfg.Engines {
		total += len(b.cfg.Ns) * len(b.modes(e))
	}
	per := b.cfg.Warmup + b.cfg.Duration + b.cfg.Timeout + childGrace + b.cfg.Cooldown
	fmt.Fprintf(b.log, "pingbench: %d cells, about %s each, at most ~%s in all\n",
		total, per.Round(time.Second), (time.Duration(total) * per).Round(time.Second))
	var rows []row
	for _, n := range b.cfg.Ns {
		for _, engine := range b.cfg.Engines {
			for _, mode := range b.modes(engine) {
				if ctx.Err() != nil {
					return rows
				}
				fmt.Fprintf(b.log, "pingbench: [%d/%d] %s %s N=%d …\n", len(rows)+1, total, engine, mode, n)
				r := b.runCell(ctx, engine, mode, n)
				fmt.Fprintf(b.log, "pingbench:   %s\n", strings.Join(r.cells(), " | "))
				rows = append(rows, r)
				sleepCtx(ctx, b.cfg.Cooldown) // let the last cell's sockets and processes go
			}
		}
	}
	return rows
}

// modes are the ICMP modes engine is measured in: every -mode for the shared engine,
// the first for probing, and for fping its own choice ("").
func (b *bench) modes(engine string) []ping.Mode {
	switch engine {
	case engineShared:
		return b.cfg.Modes
	case engineFping:
		return []ping.Mode{""}
	}
	return b.cfg.Modes[:1]
}

func (b *bench) cell(engine string, mode ping.Mode, n int) cellConfig {
	c := b.cfg
	return cellConfig{Engine: engine, N: n, Warmup: c.Warmup, Duration: c.Duration,
		Interval: c.Interval, Timeout: c.Timeout, Size: c.Size, Mode: mode, SniffEvery: c.SniffEvery}
}

// runCell runs one engine on n targets with the reference sniffer listening.
func (b *bench) runCell(ctx context.Context, engine string, mode ping.Mode, n int) row {
	cfg := b.cell(engine, mode, n)
	r := row{Engine: engine, N: n, Asked: mode, Expected: cfg.expected()}
	switch {
	case engine == engineProbing && n > b.cfg.ProbingMax:
		r.Status = fmt.Sprintf("skipped (N > -probing-max=%d: one raw socket per target, N² kernel work)", b.cfg.ProbingMax)
		return r
	case engine == engineFping && b.fpingErr != nil:
		r.Status = "not run: " + b.fpingErr.Error()
		return r
	}

	var sn *sniffer
	sniffCtx, stopSniffer := context.WithCancel(ctx)
	defer stopSniffer()
	var wg sync.WaitGroup
	if b.cfg.Sniff {
		var err error
		if sn, err = openSniffer(loopbackAddr(0), loopbackAddr(n-1), b.cfg.SniffEvery); err != nil {
			r.Ref.Err = err.Error()
		} else {
			wg.Go(func() { sn.run(sniffCtx) })
		}
	} else {
		r.Ref.Err = "-sniff=false"
	}

	if engine == engineFping {
		r.engineOutcome = runFpingCell(ctx, b.fping, cfg, b.log)
	} else {
		r.engineOutcome = runEngineCell(ctx, b.exe, cfg, b.log)
	}

	stopSniffer()
	wg.Wait()
	if sn != nil {
		var err error
		if r.Ref, err = sn.report(r.Win); err != nil {
			r.Ref.Err = err.Error()
		}
		if err := sn.close(); err != nil {
			fmt.Fprintln(b.log, "pingbench:", err)
		}
	}
	return r
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// machineInfo describes the machine for the report: CPUs, kernel, Go, fping.
func machineInfo(fpingVersion string) string {
	kernel := "unknown kernel"
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:]) +
			" " + unix.ByteSliceToString(u.Machine[:])
	}
	if fpingVersion == "" {
		fpingVersion = "fping not available"
	}
	return fmt.Sprintf("nproc %d (%s), %s, %s, %s; load average at the end %s",
		runtime.NumCPU(), cpuModel(), kernel, runtime.Version(), fpingVersion, loadAverage())
}

// loadAverage is /proc/loadavg's 1, 5 and 15 minute figures: other work on the
// machine competes with the cells for its cores.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
