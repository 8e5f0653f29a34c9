//go:build linux

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// The traffic control: the same loopback traffic as the stream (as many messages a
// second, as many bytes each, to as many sockets, written from one nice 5 thread in
// 32 slots), sent by a process that is not pingdeck to a sink scheduled like the
// clients. The API timed meanwhile tells what moving that much data through loopback
// TCP on this machine costs the API by itself, whoever sends it.
const (
	sinkRole   = "-sink-role"
	senderRole = "-sender-role"
)

// trafficLimit bounds the sink and sender processes even if nobody stops them.
const trafficLimit = 3 * time.Minute

// trafficSlots is how many slots a period is cut into, as the hub does.
const trafficSlots = 32

// runSink accepts connections and reads and discards everything on them until stdin
// closes: it prints "listening <addr>".
func runSink(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, trafficLimit)
	defer cancel()
	raiseFileLimit()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				buf := make([]byte, 32<<10)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			})
		}
	})
	go func() { _, _ = io.Copy(io.Discard, stdin); cancel() }() // ends with the process
	fmt.Fprintln(stdout, "listening", ln.Addr())
	<-ctx.Done()
	ln.Close()
	mu.Lock()
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
	return nil
}

// runSender opens -n connections to -addr and writes a -bytes message to each once
// every -every, a slot of them every -every/32, from one goroutine on a thread of its
// own at the hub's flush priority, until stdin closes. It prints "sending".
func runSender(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("sender", flag.ContinueOnError)
	addr := fs.String("addr", "", "")
	n := fs.Int("n", 1000, "")
	size := fs.Int("bytes", 13000, "")
	every := fs.Duration("every", 200*time.Millisecond, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, trafficLimit)
	defer cancel()
	raiseFileLimit()
	conns := make([]net.Conn, 0, *n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range *n {
		c, err := net.Dial("tcp", *addr)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	go func() { _, _ = io.Copy(io.Discard, stdin); cancel() }() // ends with the process
	fmt.Fprintln(stdout, "sending")
	sendSlots(ctx, conns, make([]byte, *size), *every)
	return nil
}

// sendSlots writes msg to a slot's share of conns every every/trafficSlots until ctx
// ends, on a locked thread at the flush loop's nice value.
func sendSlots(ctx context.Context, conns []net.Conn, msg []byte, every time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 5)
	defer func() { _ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 0) }()
	t := time.NewTicker(every / trafficSlots)
	defer t.Stop()
	for slot := 0; ; slot = (slot + 1) % trafficSlots {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for i := slot; i < len(conns); i += trafficSlots {
			_ = conns[i].SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = conns[i].Write(msg)
		}
	}
}
