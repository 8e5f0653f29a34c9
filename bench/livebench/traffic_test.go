//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/live/livetest"
)

// TestControlMessagesHaveTheStreamLayout: the control's results messages are JSON laid
// out as the hub's, so the clients time every item the same way.
func TestControlMessagesHaveTheStreamLayout(t *testing.T) {
	now := time.UnixMilli(1_764_950_400_000)
	msg := resultsMessage(7, 50, now, 200*time.Millisecond)
	if !json.Valid(msg) || !bytes.HasPrefix(msg, resultsPrefix) {
		t.Fatalf("not a results message: %.80s", msg)
	}
	var ats []int64
	forEachAt(msg, func(at int64) { ats = append(ats, at) })
	if len(ats) != 50 || ats[0] <= now.Add(-200*time.Millisecond).UnixMilli() || ats[49] != now.UnixMilli() {
		t.Fatalf("items' at: %d of them, first %d, last %d", len(ats), ats[0], ats[len(ats)-1])
	}
	size := 13_300
	if got := len(resultsMessage(1, controlItems(size), now, time.Second)); got > size || size-got > 200 {
		t.Fatalf("a message of controlItems(%d) items is %d bytes", size, got)
	}
}

// TestSenderGreetsAWebSocketClientAndSendsResults: a real client's handshake, the hello,
// then results messages after start; stdin's end stops the sender.
func TestSenderGreetsAWebSocketClientAndSendsResults(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- runSender(context.Background(), []string{"-items", "20", "-every", "64ms"}, inR, outW) }()
	out := bufio.NewScanner(outR)
	if !out.Scan() || !strings.HasPrefix(out.Text(), "ready ") {
		t.Fatalf("sender said %q", out.Text())
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	addr := strings.TrimPrefix(out.Text(), "ready ")
	c, _, err := livetest.Dial(context.Background(), "ws://"+addr+"/api/v1/ws", http.Header{}, livetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	if m, err := c.Read(deadline); err != nil || string(m) != `{"type":"hello"}` {
		t.Fatalf("first message %q, err %v", m, err)
	}
	if _, err := io.WriteString(inW, "start\n"); err != nil {
		t.Fatal(err)
	}
	m, err := c.Read(deadline)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	forEachAt(m, func(int64) { n++ })
	if n != 20 {
		t.Fatalf("results message with %d items, want 20: %.80s", n, m)
	}
	inW.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sender did not stop when stdin closed")
	}
}
