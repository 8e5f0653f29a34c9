package live

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// TestHasRoomPromisesAWriteThatDoesNotWait checks the guarantee the flush loop's own
// writes rest on: while hasRoom says a message fits, writing it never waits for the
// peer; and a peer that stops reading soon makes hasRoom say no.
func TestHasRoomPromisesAWriteThatDoesNotWait(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String()) // never reads
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	c := &client{raw: raw}
	msg := make([]byte, 13<<10) // a results message at 500 followed targets
	if !c.hasRoom(len(msg)) {
		t.Fatal("hasRoom says no on a fresh socket")
	}
	written := 0
	for c.hasRoom(len(msg)) {
		// A write that had to wait for the peer would miss this deadline.
		_ = conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		start := time.Now()
		if _, err := conn.Write(msg); err != nil {
			t.Fatalf("write %d, promised room, failed after %s: %v", written+1, time.Since(start), err)
		}
		written++
		if written > 10000 {
			t.Fatal("hasRoom never says no although the peer reads nothing")
		}
	}
	t.Logf("%d messages of %d bytes fit before hasRoom said no", written, len(msg))
}
