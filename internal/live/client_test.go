package live

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"
)

// socketPair is a server-side client on a real WebSocket with a small send buffer, and
// the peer's end, which reads only when the test says so.
func socketPair(t *testing.T) (*client, *websocket.Conn) {
	t.Helper()
	return socketPairWith(t, Options{})
}

func socketPairWith(t *testing.T, o Options) (*client, *websocket.Conn) {
	t.Helper()
	o.CloseGrace = 50 * time.Millisecond // no reader here answers a close
	h := testHub(t, o)
	conns := make(chan *client, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, gate, err := h.upgrade(w, r)
		if err != nil {
			t.Error(err)
			return
		}
		conns <- newClient(h, conn, gate, Viewer{UserID: "u"})
	}))
	t.Cleanup(srv.Close)
	peer, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	c := <-conns
	t.Cleanup(func() { c.conn.Close() })
	setBuf(t, c.gate.Conn, unix.SO_SNDBUF, 64<<10)
	setBuf(t, peer.NetConn(), unix.SO_RCVBUF, 256<<10)
	t.Cleanup(func() {
		c.finish()
		h.clientsWG.Wait()
	})
	return c, peer
}

// setBuf fixes the size of a socket buffer (no autotuning), so that a message of a few
// megabytes cannot fit the sender's and the receiver's at once.
func setBuf(t *testing.T, nc any, opt, size int) {
	t.Helper()
	raw, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, size) })
	if err != nil {
		t.Fatal(err)
	}
}

// results message of n bytes split in parts, as the flush loop builds them.
func bigMessage(n int, fill byte) outbound {
	body := bytes.Repeat([]byte{fill}, n)
	return outbound{parts: [][]byte{[]byte(`{"x":"`), body[:n/3], body[n/3:], []byte(`"}`)}, kind: kindResults, tick: time.Now(), counted: true}
}

func claim(t *testing.T, c *client, o outbound) {
	t.Helper()
	if !c.enqueue(o, true) {
		t.Fatal("an idle socket was not handed to the caller for an inline write")
	}
}

// TestInlineWriteNeverWaitsAndTheDrainFinishesTheFrame: the flush loop's own write
// of a message larger than the socket can take returns at once, having written only
// part of the frame; the socket's drain writes the rest before a message queued
// meanwhile, and a peer that reads later gets both whole and in order.
func TestInlineWriteNeverWaitsAndTheDrainFinishesTheFrame(t *testing.T) {
	c, peer := socketPair(t)
	first, second := bigMessage(2<<20, 'a'), bigMessage(1000, 'b')
	claim(t, c, first)
	start := time.Now()
	c.writeInline(first, true, &frameScratch{})
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("the inline write of 2 MB to a peer that reads nothing took %s", d)
	}
	c.qmu.Lock()
	draining := c.writing
	c.qmu.Unlock()
	if sent := testutil.ToFloat64(c.hub.m.messages[kindResults]); !draining || sent != 0 {
		t.Fatalf("after the inline write: drain running %v, messages counted as sent %v; want the rest left to the drain", draining, sent)
	}
	c.send(second)
	_ = peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i, want := range []outbound{first, second} {
		kind, got, err := peer.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		if kind != websocket.TextMessage || !bytes.Equal(got, bytes.Join(want.parts, nil)) {
			t.Fatalf("message %d arrived changed: %d bytes, want %d", i+1, len(got), want.size())
		}
	}
}

// TestInlineWriteOfASmallMessageGoesOutWhole: with room in the send buffer the whole
// frame is written by the caller and no drain starts.
func TestInlineWriteOfASmallMessageGoesOutWhole(t *testing.T) {
	c, peer := socketPair(t)
	o := bigMessage(500, 'c')
	claim(t, c, o)
	c.writeInline(o, true, &frameScratch{})
	c.qmu.Lock()
	idle := !c.writing && len(c.queue) == 0 && c.ticks == 0
	c.qmu.Unlock()
	if !idle {
		t.Fatal("a message that fit the send buffer was left to a drain")
	}
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, got, err := peer.ReadMessage(); err != nil || !bytes.Equal(got, bytes.Join(o.parts, nil)) {
		t.Fatalf("read %d bytes, err %v", len(got), err)
	}
}

// TestKickAfterAPartialFrameStillEndsWithTheCloseCode: a slow client cut off with 4429
// while a frame is half written gets the rest of that frame, then the close frame —
// never a close code spliced into a frame.
func TestKickAfterAPartialFrameStillEndsWithTheCloseCode(t *testing.T) {
	c, peer := socketPair(t)
	o := bigMessage(2<<20, 'd')
	claim(t, c, o)
	c.kick(CloseTooSlow, "too slow") // while the flush loop holds the socket
	c.writeInline(o, true, &frameScratch{})
	_ = peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, got, err := peer.ReadMessage()
	if err != nil {
		t.Fatalf("the begun message: %v", err)
	}
	if !bytes.Equal(got, bytes.Join(o.parts, nil)) {
		t.Fatalf("the begun message arrived changed: %d bytes", len(got))
	}
	_, _, err = peer.ReadMessage()
	if !websocket.IsCloseError(err, CloseTooSlow) {
		t.Fatalf("after the message: %v, want close 4429", err)
	}
}

// TestFrameHeaderLengths: the three length forms of RFC 6455 §5.2 for a final text frame.
func TestFrameHeaderLengths(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xff, 0xff}},
		{65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		var buf [maxFrameHeader]byte
		if got := frameHeader(&buf, tc.n); !bytes.Equal(got, tc.want) {
			t.Errorf("frameHeader(%d) = %x, want %x", tc.n, got, tc.want)
		}
		if got := frameSize(tc.n); got != len(tc.want)+tc.n {
			t.Errorf("frameSize(%d) = %d", tc.n, got)
		}
	}
}

// TestPingDuringAHalfWrittenMessageIsAnswered: a ping from the peer while a results
// message is half written (inline, the rest with the drain) is answered through
// gorilla's ping handler, and the messages around it arrive whole. The ordering itself
// (no pong inside a begun frame) is pinned down by the gate's own tests.
func TestPingDuringAHalfWrittenMessageIsAnswered(t *testing.T) {
	c, peer := socketPair(t)
	readerDone := make(chan struct{})
	go func() { // the server's reader: gorilla answers pings from here
		defer close(readerDone)
		for {
			if _, _, err := c.conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { c.conn.Close(); <-readerDone })
	first, second := bigMessage(2<<20, 'e'), bigMessage(100, 'f')
	claim(t, c, first)
	c.writeInline(first, true, &frameScratch{})
	if err := peer.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the server's reader has the ping and is answering
	c.send(second)
	pongs := make(chan string, 2)
	peer.SetPongHandler(func(s string) error { pongs <- s; return nil })
	_ = peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i, want := range []outbound{first, second} {
		_, got, err := peer.ReadMessage()
		if err != nil || !bytes.Equal(got, bytes.Join(want.parts, nil)) {
			t.Fatalf("message %d: %d bytes (want %d), err %v", i+1, len(got), want.size(), err)
		}
	}
	if len(pongs) == 0 { // the pong may follow the second message
		_ = peer.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _, _ = peer.ReadMessage() // handles the pong, then times out
	}
	select {
	case p := <-pongs:
		if p != "p" {
			t.Fatalf("pong %q", p)
		}
	default:
		t.Fatal("the ping was never answered")
	}
}

// TestInlineWriteOfMorePartsThanOneWritevTakes: a message of more parts than IOV_MAX
// (a client following a thousand groups) still arrives whole: the drain writes what
// one writev could not hold.
func TestInlineWriteOfMorePartsThanOneWritevTakes(t *testing.T) {
	c, peer := socketPair(t)
	var want []byte
	o := outbound{kind: kindResults, tick: time.Now(), counted: true}
	for i := range 3 * iovMax {
		p := []byte{'a' + byte(i%26)}
		o.parts = append(o.parts, p)
		want = append(want, p...)
	}
	claim(t, c, o)
	c.writeInline(o, true, &frameScratch{})
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, got, err := peer.ReadMessage(); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %q, err %v; want %d bytes", got, err, len(want))
	}
}

// TestMixedWritesToASlowReaderArriveWholeAndInOrder: messages of random sizes, written
// inline by the flush loop when the socket is free and queued to the drain when not
// (begun frames finished first), with the peer pinging meanwhile, all reach a peer
// that reads slowly whole and in order.
func TestMixedWritesToASlowReaderArriveWholeAndInOrder(t *testing.T) {
	c, peer := socketPairWith(t, Options{MaxQueuedTicks: 1000})
	serverReader := make(chan struct{})
	go func() { // answers the peer's pings
		defer close(serverReader)
		for {
			if _, _, err := c.conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { c.conn.Close(); <-serverReader })

	const n = 150
	rng := rand.New(rand.NewPCG(1, 2))
	want := make([][]byte, n)
	for i := range want {
		want[i] = append([]byte(fmt.Sprintf("%04d:", i)), bytes.Repeat([]byte{'a' + byte(i%26)}, rng.IntN(300<<10))...)
	}
	got := make(chan []byte, n)
	readErr := make(chan error, 1)
	go func() {
		_ = peer.SetReadDeadline(time.Now().Add(60 * time.Second))
		for range n {
			_, m, err := peer.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			got <- m
			time.Sleep(time.Millisecond) // a slow reader: the server's buffer fills
		}
	}()
	scratch := &frameScratch{}
	for i, m := range want {
		cut := rng.IntN(len(m) + 1)
		o := outbound{parts: [][]byte{m[:cut], m[cut:]}, kind: kindResults, tick: time.Now(), counted: true}
		if c.enqueue(o, true) {
			c.writeInline(o, true, scratch)
		}
		if i%10 == 0 {
			if err := peer.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
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
}
