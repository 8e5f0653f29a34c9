//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"pingdeck/internal/ping"
)

// fpingLine is one per-probe line of `fping -l -D`:
//
//	[1700000000.12345] 127.1.0.1 : [3], 64 bytes, 0.045 ms (0.040 avg, 0% loss)
//	[1700000000.12345] 127.1.0.1 : [4], timed out (0.040 avg, 20% loss)
type fpingLine struct {
	Host string
	Seq  int
	At   time.Time // when fping printed it: the reply's arrival, or the timeout
	OK   bool
	RTT  time.Duration
}

var fpingLineRE = regexp.MustCompile(`^\[(\d+\.\d+)\] (\S+)\s+: \[(\d+)\], (?:\d+ bytes, ([0-9.]+) ms|(timed out))`)

// parseFpingLine parses one per-probe line; ok is false for anything else.
func parseFpingLine(s string) (l fpingLine, ok bool) {
	m := fpingLineRE.FindStringSubmatch(s)
	if m == nil {
		return l, false
	}
	at, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return l, false
	}
	sec := int64(at)
	l.At = time.Unix(sec, int64((at-float64(sec))*1e9))
	l.Host = m[2]
	if l.Seq, err = strconv.Atoi(m[3]); err != nil {
		return l, false
	}
	if m[5] != "" {
		return l, true
	}
	ms, err := strconv.ParseFloat(m[4], 64)
	if err != nil {
		return l, false
	}
	l.OK, l.RTT = true, time.Duration(ms*float64(time.Millisecond))
	return l, true
}

// sentAt is when the probe behind l left: arrival minus RTT, or timeout minus timeout.
func (l fpingLine) sentAt(timeout time.Duration) time.Time {
	if l.OK {
		return l.At.Add(-l.RTT)
	}
	return l.At.Add(-timeout)
}

// fpingBinary finds fping and its version, and checks that it takes fpingFlags.
func fpingBinary() (path, version string, err error) {
	path, err = exec.LookPath("fping")
	if err != nil {
		return "", "", fmt.Errorf("fping: not installed (apt-get install -y fping): %w", err)
	}
	v, err := exec.Command(path, "-v").CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("fping: %s -v: %w", path, err)
	}
	help, _ := exec.Command(path, "--help").CombinedOutput()                     // exits 0 or 1 by version
	for _, f := range []string{"-l", "-p", "-t", "-b", "-e", "-D", "-i", "-f"} { // what fpingArgs passes
		if !strings.Contains(string(help), "   "+f+",") {
			return "", "", fmt.Errorf("fping: %s does not list %s in --help", path, f)
		}
	}
	return path, strings.TrimSpace(string(v)), nil
}

// fpingArgs is the command line for cfg, reading targets from file. -i (the gap
// between any two sends) is half of interval/N, so fping can keep every target's
// period with room to catch up; its default of 10 ms would cap it at 100 probes/s.
func fpingArgs(cfg cellConfig, file string) []string {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', -1, 64) }
	gap := cfg.Interval / time.Duration(2*cfg.N)
	return []string{"-l", "-p", ms(cfg.Interval), "-t", ms(cfg.Timeout), "-b", strconv.Itoa(cfg.Size),
		"-e", "-D", "-i", ms(max(gap, time.Microsecond)), "-f", file}
}

// fpingSeqExhausted is how fping 5.1 refuses more probes per second than its 65,535
// sequence numbers cover in its 10 s reuse window (~6,500 probes/s).
const fpingSeqExhausted = "not enough sequence numbers"

// runFpingCell runs fping on the cell's targets and measures it like an engine child.
func runFpingCell(ctx context.Context, fping string, cfg cellConfig, stderr io.Writer) engineOutcome {
	ctx, cancel := context.WithTimeout(ctx, cellDeadline(cfg))
	defer cancel()
	out := engineOutcome{Mode: ping.ModePrivileged}
	file, cleanup, err := writeTargetFile(cfg)
	if err != nil {
		out.Status = "failed: " + err.Error()
		return out
	}
	defer cleanup()

	start := time.Now()
	out.Win = window{Start: start.Add(cfg.Warmup), End: start.Add(cfg.Warmup + cfg.Duration)}
	col := newCollector(out.Win)
	var unparsed int64 // lines that were not per-probe lines; read once the process ended
	onLine := func(s string) {
		l, ok := parseFpingLine(s)
		if !ok {
			unparsed++
			return
		}
		errText := ""
		if !l.OK {
			errText = ping.ErrTimeout
		}
		addr, err := netip.ParseAddr(l.Host)
		col.add(l.sentAt(cfg.Timeout), l.OK, l.RTT, errText, err == nil && sampled(addr, cfg.SniffEvery))
	}
	errBuf := &boundedBuffer{limit: 16 << 10}
	p, err := startProcess(ctx, fping, fpingArgs(cfg, file), errBuf, onLine)
	if err != nil {
		out.Status = "failed: " + err.Error()
		return out
	}
	out.Usage, err = measureWindow(ctx, p.pid(), out.Win, p.exited)
	if err == nil { // let the window's last probes answer or time out
		timer := time.NewTimer(cfg.Timeout + childGrace)
		select {
		case <-timer.C:
		case <-p.exited:
		case <-ctx.Done():
		}
		timer.Stop()
	}
	waitErr := p.interrupt()
	out.Stats = col.result()
	msgs := errBuf.String()
	switch {
	case strings.Contains(msgs, fpingSeqExhausted):
		out.Status = "refused (fping limit)"
		out.Warnings = fmt.Sprintf("fping exits with %q at %.0f probes/s (65,535 sequence numbers per 10 s: ≈ 6,550/s)",
			fpingSeqExhausted, float64(cfg.N)/cfg.Interval.Seconds())
	case err != nil:
		out.Status = fmt.Sprintf("failed: %v (exit: %v; %s)", err, waitErr, firstLine(msgs))
	case unparsed > 0:
		out.Warnings = fmt.Sprintf("%d unexpected output lines", unparsed)
	}
	return out
}

// writeTargetFile writes the cell's addresses, one per line, for fping -f.
func writeTargetFile(cfg cellConfig) (path string, cleanup func(), err error) {
	targets, err := loopbackTargets(cfg.N, cfg.Interval, cfg.Timeout, cfg.Size)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "pingbench-")
	if err != nil {
		return "", nil, fmt.Errorf("fping: target file: %w", err)
	}
	cleanup = func() { os.RemoveAll(dir) }
	var b strings.Builder
	for _, t := range targets {
		b.WriteString(t.Addr.String())
		b.WriteByte('\n')
	}
	path = filepath.Join(dir, "targets")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("fping: target file: %w", err)
	}
	return path, cleanup, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
