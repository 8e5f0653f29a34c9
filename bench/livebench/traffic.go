//go:build linux

package main

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// The traffic control: a bare WebSocket server that is not pingdeck sends the same
// clients process the same traffic as the stream (as many results messages a second,
// of the same size and layout, from one nice 5 thread in 32 slots, as the hub's flush
// loop does) while the API is timed. It does the least any server of this stream must:
// no routing, no encoding per group, no resume ring, no drains, no API. What the API's
// latency does meanwhile is what that much traffic to those receivers costs on this
// machine, whoever sends it.
const senderRole = "-sender-role"

// trafficLimit bounds the sender process even if nobody stops it.
const trafficLimit = 3 * time.Minute

// trafficSlots is how many slots a period is cut into, as the hub does.
const trafficSlots = 32

// runSender accepts WebSocket clients, greets each with a hello, and on "start" sends
// every client a results message of -items items once every -every until stdin closes.
// It prints "ready <addr>".
func runSender(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("sender", flag.ContinueOnError)
	items := fs.Int("items", 100, "")
	every := fs.Duration("every", 200*time.Millisecond, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, trafficLimit)
	defer cancel()
	raiseFileLimit()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				if err := acceptWebSocket(c); err != nil {
					c.Close()
					return
				}
				mu.Lock()
				conns = append(conns, c) // before the hello: a client that has it is sent to
				mu.Unlock()
				if _, err := c.Write(textFrame(nil, []byte(`{"type":"hello"}`))); err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, c) // the client's subscribe, and its end
			})
		}
	})
	defer func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	fmt.Fprintln(stdout, "ready", ln.Addr())
	in := bufio.NewScanner(stdin)
	if !in.Scan() || in.Text() != "start" {
		return fmt.Errorf("sender: no start")
	}
	go func() { _, _ = io.Copy(io.Discard, stdin); cancel() }() // ends with the process
	mu.Lock()
	all := conns
	mu.Unlock()
	sendSlots(ctx, all, *items, *every)
	return nil
}

// acceptWebSocket answers a WebSocket handshake on c (RFC 6455 §4.2.2).
func acceptWebSocket(c net.Conn) error {
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return err
	}
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	_, err = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
	return err
}

// textFrame appends to b one final, unmasked text frame holding payload.
func textFrame(b, payload []byte) []byte {
	n := len(payload)
	switch {
	case n < 126:
		b = append(b, 0x81, byte(n))
	case n <= 0xffff:
		b = append(b, 0x81, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x81, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// sendSlots writes a slot's share of conns a results message every every/trafficSlots
// until ctx ends, on a locked thread at the flush loop's nice value (5).
func sendSlots(ctx context.Context, conns []net.Conn, items int, every time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 5)
	defer func() { _ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 0) }()
	t := time.NewTicker(every / trafficSlots)
	defer t.Stop()
	var frame []byte
	for seq, slot := 1, 0; ; seq, slot = seq+1, (slot+1)%trafficSlots {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			frame = textFrame(frame[:0], resultsMessage(seq, items, now, every))
		}
		for i := slot; i < len(conns); i += trafficSlots {
			_ = conns[i].SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = conns[i].Write(frame)
		}
	}
}

// Fixed UUIDs for the control's items: the layout (and so the size) of the stream's.
const (
	controlGroup  = "6f1c7a52-1d7e-4c31-9a57-0c2b0c5e8a11"
	controlTarget = "0b8e7f3a-5c2d-4e6f-8a9b-1c2d3e4f5a6b"
)

// resultsMessage is a results message of n items laid out as the hub lays them out,
// their "at" spread over the last period as published results would be.
func resultsMessage(seq, n int, now time.Time, period time.Duration) []byte {
	b := append([]byte(`{"type":"results","seq":`), strconv.Itoa(seq)...)
	b = append(b, `,"items":[`...)
	for j := range n {
		if j > 0 {
			b = append(b, ',')
		}
		at := now.Add(-period * time.Duration(n-1-j) / time.Duration(n)).UnixMilli()
		b = append(b, `{"g":"`+controlGroup+`","t":"`+controlTarget+`","at":`...)
		b = strconv.AppendInt(b, at, 10)
		b = append(b, `,"ok":true,"rtt_ms":0.123}`...)
	}
	return append(b, `]}`...)
}

// controlItems is how many items make a results message of size bytes.
func controlItems(size int) int {
	one := len(resultsMessage(1, 2, time.Now(), time.Second)) - len(resultsMessage(1, 1, time.Now(), time.Second))
	return max(1, (size-len(resultsMessage(1, 0, time.Now(), time.Second)))/one)
}
