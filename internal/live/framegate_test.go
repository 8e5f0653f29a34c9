package live

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcpPair is a gated server end with a small send buffer and a peer with a small
// receive buffer that reads only when the test does.
func tcpPair(t *testing.T) (*gatedConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	g, err := newGatedConn(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	setBuf(t, nc, unix.SO_SNDBUF, 64<<10)
	setBuf(t, peer, unix.SO_RCVBUF, 256<<10)
	return g, peer
}

// TestGateHoldsOtherWritesUntilABegunFrameIsFinished: a write through the gate (the
// WebSocket library's pong, say) that comes while a directly written frame is only
// partly out waits, and lands after the frame's last byte.
func TestGateHoldsOtherWritesUntilABegunFrameIsFinished(t *testing.T) {
	g, peer := tcpPair(t)
	frame := bytes.Repeat([]byte{'x'}, 2<<20)
	var s frameScratch
	s.iovs = appendIovec(s.iovs[:0], frame)
	n, err := g.beginFrame(s.iovs, len(frame))
	if err != nil || n <= 0 || n >= len(frame) {
		t.Fatalf("beginFrame wrote %d of %d bytes, err %v; want a part", n, len(frame), err)
	}
	other := make(chan error, 1)
	go func() { _, err := g.Write([]byte("PONG")); other <- err }()
	select {
	case err := <-other:
		t.Fatalf("a write went through while a frame was begun (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := g.beginFrame(s.iovs, len(frame)); err != errGateBusy {
		t.Fatalf("a second direct frame while one is begun: %v, want errGateBusy", err)
	}
	finished := make(chan error, 1)
	go func() { finished <- g.finishFrame(net.Buffers{frame[n:]}, time.Now().Add(10*time.Second)) }()
	want := append(append([]byte{}, frame...), "PONG"...)
	got := make([]byte, len(want))
	_ = peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(peer, got); err != nil {
		t.Fatal(err)
	}
	if err := <-finished; err != nil {
		t.Fatal(err)
	}
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("the bytes differ from offset %d of %d: the other write landed inside the frame", i, len(want))
	}
}

// TestGateCloseReleasesAWaitingWrite: closing the connection while a write waits on a
// begun frame (its rest could not be written) lets that write fail at once.
func TestGateCloseReleasesAWaitingWrite(t *testing.T) {
	g, _ := tcpPair(t)
	frame := bytes.Repeat([]byte{'y'}, 2<<20)
	var s frameScratch
	s.iovs = appendIovec(s.iovs[:0], frame)
	if n, err := g.beginFrame(s.iovs, len(frame)); err != nil || n >= len(frame) {
		t.Fatalf("beginFrame wrote %d, err %v; want a part", n, err)
	}
	other := make(chan error, 1)
	go func() { _, err := g.Write([]byte("PONG")); other <- err }()
	time.Sleep(50 * time.Millisecond)
	g.Close()
	select {
	case err := <-other:
		if err == nil {
			t.Fatal("a write after close succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting write was not released by Close")
	}
}
