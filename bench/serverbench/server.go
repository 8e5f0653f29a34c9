//go:build linux

package main

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

// adminPassword is the admin's password on every server the benchmark starts.
const adminPassword = "serverbench-password"

const (
	// listenTimeout bounds the wait for the server's "listening" log line.
	listenTimeout = 60 * time.Second
	// stopTimeout is how long the server has to exit after SIGTERM before SIGKILL.
	stopTimeout = 30 * time.Second
)

// serverProcess is a running pingdeck binary whose log goes to a file.
type serverProcess struct {
	cmd     *exec.Cmd
	addr    string        // host:port it serves HTTP on
	logPath string        // its stdout and stderr
	exited  chan struct{} // closed when it has exited and its log is written
	waitErr error         // how it exited, set before exited is closed
}

// serverArgs are the flags the benchmark starts a server with.
func serverArgs(o options, dataDir string) []string {
	groups := (o.n + o.perGroup - 1) / o.perGroup
	args := []string{
		"--data-dir", dataDir,
		"--listen", "127.0.0.1:0",
		"--max-targets-per-user", strconv.Itoa(max(o.n, 10000)),
		"--max-groups-per-user", strconv.Itoa(max(groups, 1000)),
		"--allow-targets", "127.0.0.0/8",
	}
	if o.engine != "" {
		args = append(args, "--ping-engine", o.engine)
	}
	return append(args, o.serverArgs...)
}

// serverEnv is environ without PINGDECK_* variables (each would set a flag we did not
// give), plus the database and the admin's password.
func serverEnv(environ []string, dbURL string) []string {
	var env []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "PINGDECK_") {
			env = append(env, kv)
		}
	}
	return append(env, "PINGDECK_DB="+dbURL, "PINGDECK_ADMIN_PASSWORD="+adminPassword)
}

// startServer runs bin with its data in dir on the database at dbURL, and waits until
// it logs the address it listens on.
func startServer(ctx context.Context, bin, dir, dbURL string, o options) (*serverProcess, error) {
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, serverArgs(o, filepath.Join(dir, "data"))...)
	cmd.Env = serverEnv(os.Environ(), dbURL)
	cmd.Stdout = logFile
	// Its own process group, so a ^C at the terminal reaches only us and we stop it in
	// order; killed with us should we die without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &serverProcess{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	addrs := make(chan string, 1)
	go func() { // owned by the process: ends when its stderr closes, then reaps it
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if addr, ok := listenAddr(line); ok {
				select {
				case addrs <- addr:
				default:
				}
			}
		}
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	timer := time.NewTimer(listenTimeout)
	defer timer.Stop()
	select {
	case p.addr = <-addrs:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("server exited before listening (%v); its log:\n%s", p.waitErr, p.logTail(40))
	case <-timer.C:
		err = fmt.Errorf("server did not listen within %s; its log:\n%s", listenTimeout, p.logTail(40))
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.stop()
	return nil, err
}

// listenAddr reads the address from the server's JSON log line saying where it
// listens.
func listenAddr(line string) (string, bool) {
	var rec struct{ Msg, Addr string }
	if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "pingdeck listening" || rec.Addr == "" {
		return "", false
	}
	return rec.Addr, true
}

// pid is the server's process id.
func (p *serverProcess) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM, then SIGKILL after stopTimeout, and waits for the exit. It says
// whether the server exited on its own and cleanly; safe to call more than once.
func (p *serverProcess) stop() error {
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
		return fmt.Errorf("server did not exit within %s of SIGTERM; killed", stopTimeout)
	}
}

// errServerExited says the server ended while the benchmark still needed it.
var errServerExited = errors.New("server exited")

// sleep waits d, or until ctx ends or the server exits.
func (p *serverProcess) sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.exited:
		return fmt.Errorf("%w (%v); its log ends:\n%s", errServerExited, p.waitErr, p.logTail(40))
	}
}

// logTail is the last n lines of the server's log, for error messages.
func (p *serverProcess) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
