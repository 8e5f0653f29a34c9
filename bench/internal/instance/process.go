//go:build linux

// Package instance runs the real pingdeck binary for the benchmarks, as a server or
// an agent: a child process whose log goes to a file, up once it logs a given line,
// stopped with SIGTERM (SIGKILL after a grace period) and killed with the benchmark
// should that die first; and the server's REST API as its admin.
package instance

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stopTimeout is how long a process has to exit after SIGTERM before SIGKILL.
const stopTimeout = 30 * time.Second

// Spec says how to run a process.
type Spec struct {
	Name    string // in messages: "server", "agent a1"
	Bin     string
	Args    []string
	Env     []string
	LogPath string // its stdout and stderr
	// Ready reads a line of its stderr; the process is up at the first line for which
	// it says true, and Start returns the string it gives with it.
	Ready        func(line string) (string, bool)
	ReadyTimeout time.Duration
}

// Process is a running binary.
type Process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when it has exited and its log is written
	waitErr error         // how it exited, set before exited is closed
}

// Start runs s.Bin and waits until it is up (see Spec.Ready).
func Start(ctx context.Context, s Spec) (*Process, string, error) {
	logFile, err := os.Create(s.LogPath)
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(s.Bin, s.Args...)
	cmd.Env = s.Env
	cmd.Stdout = logFile
	// Its own process group, so a ^C at the terminal reaches only us and we stop it in
	// order; killed with us should we die without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, "", fmt.Errorf("start %s %s: %w", s.Name, s.Bin, err)
	}
	p := &Process{name: s.Name, cmd: cmd, logPath: s.LogPath, exited: make(chan struct{})}
	up := make(chan string, 1)
	go func() { // owned by the process: ends when its stderr closes, then reaps it
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if v, ok := s.Ready(line); ok {
				select {
				case up <- v:
				default:
				}
			}
		}
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	timer := time.NewTimer(s.ReadyTimeout)
	defer timer.Stop()
	select {
	case v := <-up:
		return p, v, nil
	case <-p.exited:
		return nil, "", fmt.Errorf("%s exited before it was up (%v); its log:\n%s", s.Name, p.waitErr, p.LogTail(40))
	case <-timer.C:
		err = fmt.Errorf("%s was not up within %s; its log:\n%s", s.Name, s.ReadyTimeout, p.LogTail(40))
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.Stop()
	return nil, "", err
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited; Err then says how.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is how the process exited, once Exited is closed.
func (p *Process) Err() error { return p.waitErr }

// Stop sends SIGTERM, then SIGKILL after stopTimeout, and waits for the exit. It says
// whether the process exited cleanly; safe to call more than once.
func (p *Process) Stop() error {
	select {
	case <-p.exited:
		return p.waitErr
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.exited:
		return p.waitErr
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not exit within %s of SIGTERM; killed", p.name, stopTimeout)
	}
}

// ErrExited says a process ended while the benchmark still needed it.
var ErrExited = errors.New("exited")

// Sleep waits d, or until ctx ends or the process exits.
func (p *Process) Sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.exited:
		return fmt.Errorf("%s %w (%v); its log ends:\n%s", p.name, ErrExited, p.waitErr, p.LogTail(40))
	}
}

// LogTail is the last n lines of the log, for error messages.
func (p *Process) LogTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// FindInLog is what match gives for the first line of the log it accepts.
func (p *Process) FindInLog(match func(line string) (string, bool)) (string, bool) {
	f, err := os.Open(p.logPath)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := match(sc.Text()); ok {
			return v, true
		}
	}
	return "", false
}

// LogField reads a JSON log line (pingdeck logs with slog's JSON handler): the field
// of the record whose message is msg, as text (a string as it is, a number in Go's
// shortest form).
func LogField(line, msg, field string) (string, bool) {
	var rec map[string]any
	if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != msg {
		return "", false
	}
	switch v := rec[field].(type) {
	case string:
		return v, v != ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

// Build compiles ./cmd/server of the module we are run in, as `make build` does, into
// dir.
func Build(ctx context.Context, dir string) (string, error) {
	path := filepath.Join(dir, "pingdeck")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", path, "pingdeck/cmd/server")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build pingdeck/cmd/server (run the benchmark inside the module): %w\n%s", err, out)
	}
	return path, nil
}

// Env is environ without PINGDECK_* variables (each would set a flag we did not give),
// plus extra.
func Env(environ []string, extra ...string) []string {
	var env []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "PINGDECK_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
