//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"pingdeck/bench/internal/loopback"
	"pingdeck/bench/internal/procfs"
	"pingdeck/internal/groups"
)

// fpingRun is fping's measurement on the same targets as the server's, to set the
// server's CPU against.
type fpingRun struct {
	Version  string // as `fping -v` says it
	Args     []string
	Targets  int
	Interval time.Duration
	Window   time.Duration // as measured; 0 when the run failed before the window ended

	CPU          float64 // cores, over the window
	RSS, PeakRSS int64

	// From the per-target summary it prints as it stops: targets summarised and probes
	// sent and answered over its whole run, Ran from its start to its stop.
	Summarised     int
	Sent, Received int64
	Ran            time.Duration
	Err            string
}

// fpingStopGrace is how long fping has to print its summary and exit after SIGINT.
const fpingStopGrace = 10 * time.Second

// runFping runs fping on the benchmark's targets for the same warm-up and window as
// the server, and measures its CPU and memory over the window (utime + stime, as the
// server's). It stops fping (SIGINT: it prints its summary) before it returns.
func runFping(ctx context.Context, o options, logf func(string, ...any)) (f fpingRun, err error) {
	f = fpingRun{Targets: o.n, Interval: o.interval}
	path, err := exec.LookPath("fping")
	if err != nil {
		return f, fmt.Errorf("fping: not installed (apt-get install -y fping): %w", err)
	}
	v, err := exec.CommandContext(ctx, path, "-v").CombinedOutput()
	if err != nil {
		return f, fmt.Errorf("fping -v: %w", err)
	}
	f.Version = strings.TrimSpace(string(v)) // "/usr/bin/fping: Version 5.1"
	if i := strings.LastIndex(f.Version, ": "); i >= 0 {
		f.Version = f.Version[i+2:]
	}
	dir, err := os.MkdirTemp("", "serverbench-fping-")
	if err != nil {
		return f, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "targets")
	if err := os.WriteFile(file, targetList(o.n), 0o600); err != nil {
		return f, fmt.Errorf("fping: target file: %w", err)
	}
	f.Args = fpingArgs(o, "<targets>") // as the report shows it

	var stdout bytes.Buffer // empty under -Q; kept for a message if it is not
	args := fpingArgs(o, file)
	cmd := exec.Command(path, args...)
	cmd.Stdout = &limitedWriter{w: &stdout, n: 4 << 10}
	summary := &fpingSummary{}
	cmd.Stderr = summary
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return f, fmt.Errorf("fping: start: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	var wg sync.WaitGroup
	wg.Go(func() { // owned here: stopped below, waited for before we return
		waitErr = cmd.Wait()
		close(exited)
	})
	defer func() {
		stopErr := stopFping(cmd, exited)
		wg.Wait()
		f.Ran = time.Since(started)
		f.Summarised, f.Sent, f.Received = summary.Targets, summary.Sent, summary.Received
		if err == nil && stopErr != nil {
			err = stopErr
		}
		if err == nil && f.Summarised == 0 {
			err = fmt.Errorf("fping printed no summary (exit: %v): %s", waitErr, summary.firstOther())
		}
	}()
	logf("fping %s (pid %d) probes %d targets: %s %s", f.Version, cmd.Process.Pid, o.n, path, strings.Join(args, " "))

	sleep := func(d time.Duration) error {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("fping exited early (%v): %s%s", waitErr, summary.firstOther(), stdout.String())
		}
	}
	logf("fping: warming up for %s", o.warmup)
	if err := sleep(o.warmup); err != nil {
		return f, err
	}
	start, err := readProcess(cmd.Process.Pid)
	if err != nil {
		return f, err
	}
	logf("fping: measuring for %s", o.window)
	if err := sleep(o.window); err != nil {
		return f, err
	}
	end, err := readProcess(cmd.Process.Pid)
	if err != nil {
		return f, err
	}
	f.Window = end.at.Sub(start.at)
	f.CPU = (end.cpu - start.cpu).Seconds() / f.Window.Seconds()
	f.RSS, f.PeakRSS = end.mem.RSS, end.mem.Peak
	return f, nil
}

// readProcess reads a process's CPU so far and its memory.
func readProcess(pid int) (reading, error) {
	r := reading{at: time.Now()}
	var err error
	if r.cpu, err = procfs.CPU(pid); err != nil {
		return r, err
	}
	r.mem, err = procfs.ReadMemory(pid)
	return r, err
}

// stopFping sends SIGINT (fping prints its summary and exits), and kills it if it has
// not exited within fpingStopGrace.
func stopFping(cmd *exec.Cmd, exited <-chan struct{}) error {
	select {
	case <-exited:
		return nil
	default:
	}
	_ = cmd.Process.Signal(os.Interrupt)
	timer := time.NewTimer(fpingStopGrace)
	defer timer.Stop()
	select {
	case <-exited:
		return nil
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("fping did not exit within %s of SIGINT; killed", fpingStopGrace)
	}
}

// fpingArgs is fping's command line for o, reading its targets from file: every target
// every interval (-l -p), the server's default timeout (no longer than the interval)
// and packet size, and -i (the gap between any two sends, 10 ms by default, which
// would cap it at 100 probes/s) half of interval/N, as pingbench gives it, so fping
// keeps every target's period with room to catch up. -Q (quiet, with a summary every
// that many seconds) instead of -q: fping 5.1 with -l prints a line a probe despite
// -q, which would charge it for output the server does not make; the period is longer
// than the run, so the only summary is the one it prints when it stops.
func fpingArgs(o options, file string) []string {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', -1, 64) }
	gap := max((o.interval / time.Duration(2*o.n)).Truncate(time.Microsecond), time.Microsecond)
	quietFor := int((o.warmup + o.window + time.Hour).Seconds())
	return []string{"-l", "-p", ms(o.interval), "-t", ms(min(o.interval, groups.DefaultTimeout)),
		"-b", strconv.Itoa(groups.DefaultPacketSize), "-Q", strconv.Itoa(quietFor), "-i", ms(gap), "-f", file}
}

// targetList is the first n benchmark targets' addresses, one a line, as the server's
// groups have them.
func targetList(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		b.WriteString(loopback.Address(i))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// fpingSummary reads fping's stderr: the per-target summary lines it prints when it
// stops, summed, and the first few other lines (its errors).
type fpingSummary struct {
	mu             sync.Mutex
	partial        []byte
	Targets        int   // summary lines
	Sent, Received int64 // summed over them
	other          []string
}

// maxOtherLines bounds the non-summary lines kept.
const maxOtherLines = 5

// fpingSummaryRE matches "127.64.0.1 : xmt/rcv/%loss = 25/24/4%, min/avg/max = …".
var fpingSummaryRE = regexp.MustCompile(`^\S+\s+: xmt/rcv/%loss = (\d+)/(\d+)/`)

// Write takes stderr as it comes, a line at a time.
func (s *fpingSummary) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.line(string(s.partial[:i]))
		s.partial = s.partial[i+1:]
	}
	if len(s.partial) > 64<<10 { // no line is this long: keep memory bounded
		s.line(string(s.partial[:256]))
		s.partial = s.partial[:0]
	}
	return len(p), nil
}

func (s *fpingSummary) line(l string) {
	if m := fpingSummaryRE.FindStringSubmatch(l); m != nil {
		sent, err1 := strconv.ParseInt(m[1], 10, 64)
		recv, err2 := strconv.ParseInt(m[2], 10, 64)
		if err := errors.Join(err1, err2); err == nil {
			s.Targets++
			s.Sent += sent
			s.Received += recv
			return
		}
	}
	if l = strings.TrimSpace(l); l != "" && len(s.other) < maxOtherLines {
		s.other = append(s.other, l)
	}
}

// firstOther is the first line that was not a summary line ("" if none).
func (s *fpingSummary) firstOther() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.other) == 0 {
		return ""
	}
	return s.other[0]
}

// limitedWriter keeps the first n bytes written to w and drops the rest.
type limitedWriter struct {
	w *bytes.Buffer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if room := l.n - l.w.Len(); room > 0 {
		l.w.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
