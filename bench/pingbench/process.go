//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is a started child (an engine child or fping) whose stdout lines go to a
// callback and whose end is signalled on exited. It dies with pingbench (SIGKILL on
// parent death) and with ctx (SIGINT, then SIGKILL after a grace period).
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has ended and stdout is drained
	wg     sync.WaitGroup

	waitErr error // set before exited is closed
}

// stopGrace is how long a process has to exit after SIGINT before it is killed.
const stopGrace = 5 * time.Second

// startProcess starts name with args. Each stdout line is passed to onLine from one
// goroutine, in order; stderr goes to stderr.
func startProcess(ctx context.Context, name string, args []string, stderr io.Writer, onLine func(string)) (*process, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = stopGrace
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("process: pipe: %w", err)
	}
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("process: start %s: %w", name, err)
	}
	pw.Close() // the child holds the write end now; EOF comes when it exits

	p := &process{cmd: cmd, exited: make(chan struct{})}
	var readDone sync.WaitGroup
	readDone.Go(func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			onLine(sc.Text())
		}
		// A read error here means the pipe broke; the exit status tells the story.
	})
	p.wg.Go(func() {
		err := cmd.Wait()
		readDone.Wait()
		p.waitErr = err
		close(p.exited)
	})
	return p, nil
}

// pid is the process id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// interrupt asks the process to stop (SIGINT), and kills it if it has not after
// stopGrace. It returns once the process has ended, with its exit error.
func (p *process) interrupt() error {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(os.Interrupt)
		timer := time.NewTimer(stopGrace)
		defer timer.Stop()
		select {
		case <-p.exited:
		case <-timer.C:
			_ = p.cmd.Process.Kill()
		}
	}
	return p.wait()
}

// wait returns once the process has ended and its output has been read.
func (p *process) wait() error {
	p.wg.Wait()
	return p.waitErr
}

// boundedBuffer keeps the first limit bytes written to it and counts the rest, so a
// chatty process (fping prints one summary line per target on exit) cannot grow it.
type boundedBuffer struct {
	mu      sync.Mutex
	limit   int
	buf     []byte
	dropped int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(p), b.limit-len(b.buf))
	b.buf = append(b.buf, p[:n]...)
	b.dropped += len(p) - n
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
