package live

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"pingdeck/internal/live/livetest"
)

// TestWriterSendsMessagesWholeAndInOrder: messages of random sizes in parts, all queued
// while the peer pings the server and reads nothing (the server's buffers fill and its
// writer blocks), arrive whole and in order, each one text message.
func TestWriterSendsMessagesWholeAndInOrder(t *testing.T) {
	s := newScene(t, Options{MaxQueuedBytes: 64 << 20}, 0)
	conn := s.mustDial(s.viewer, dialOptions{recvBuf: 64 << 10})
	c := s.serverSide(s.viewer)
	c.setWriteBuffer(t, 64<<10)

	const n = 150
	rng := rand.New(rand.NewPCG(1, 2))
	want := make([][]byte, n)
	for i := range want {
		want[i] = append([]byte(fmt.Sprintf("%04d:", i)), bytes.Repeat([]byte{'a' + byte(i%26)}, rng.IntN(300<<10))...)
	}
	got := make(chan []byte, n)
	readErr := make(chan error, 1)
	queued := make(chan struct{})
	go func() {
		<-queued // a reader slower than the queue: it starts once everything waits
		deadline := time.Now().Add(60 * time.Second)
		for range n {
			m, err := conn.Read(deadline) // a text message, or an error
			if err != nil {
				readErr <- err
				return
			}
			got <- m
		}
	}()
	for i, m := range want {
		cut := rng.IntN(len(m) + 1)
		c.send(outbound{parts: [][]byte{m[:cut], m[cut:]}, kind: kindReplay})
		if i%10 == 0 {
			if err := conn.Ping(); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(queued)
	for i := range n {
		select {
		case m := <-got:
			if !bytes.Equal(m, want[i]) {
				t.Fatalf("message %d arrived as %d bytes starting %q; want %d bytes", i, len(m), m[:min(len(m), 5)], len(want[i]))
			}
		case err := <-readErr:
			t.Fatalf("after %d messages: %v", i, err)
		}
	}
	// The peer can read the last message before the writer's write returns and
	// uncounts it: wait for that, briefly.
	for deadline := time.Now().Add(2 * time.Second); c.queuedBytes() != 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if q := c.queuedBytes(); q != 0 {
		t.Fatalf("%d bytes still counted after every message was written", q)
	}
}

// TestWriterPingsEveryPingPeriod: the writer pings the peer on its own; pongs keep the
// socket open past PongWait.
func TestWriterPingsEveryPingPeriod(t *testing.T) {
	s := newScene(t, Options{PingPeriod: 50 * time.Millisecond, PongWait: 300 * time.Millisecond}, 0)
	conn := s.mustDial(s.viewer, dialOptions{})
	pings := 0
	conn.OnPing(func() { pings++ }) // runs in Read, on this goroutine
	start := time.Now()
	_, err := conn.Read(start.Add(time.Second)) // handles pings until the deadline
	if ne, ok := err.(interface{ Timeout() bool }); !ok || !ne.Timeout() {
		t.Fatalf("the socket ended within a second of pings and pongs: %v", err)
	}
	if pings < 10 || pings > 22 {
		t.Fatalf("%d pings in %s at a 50 ms period", pings, time.Since(start))
	}
}

// TestKickedWriterEndsWithTheCloseCode: a client closed while messages wait gets the
// message being written, then the close frame, and nothing queued after the kick.
func TestKickedWriterEndsWithTheCloseCode(t *testing.T) {
	s := newScene(t, Options{}, 0)
	conn := s.mustDial(s.viewer, dialOptions{})
	c := s.serverSide(s.viewer)
	c.kick(CloseTooSlow, "too slow")
	c.send(message(kindControl, []byte(`{"type":"late"}`)))
	data, err := conn.Read(time.Now().Add(10 * time.Second))
	if ce := (*livetest.CloseError)(nil); !errors.As(err, &ce) || ce.Code != CloseTooSlow {
		t.Fatalf("read %q, %v; want close 4429 and nothing queued after the kick", data, err)
	}
}
