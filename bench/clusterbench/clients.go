//go:build linux

package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"pingdeck/internal/live/livetest"
)

const viewerPassword = "clusterbench-viewer"

// socket is one client: a WebSocket following some groups, recording what arrives.
type socket struct {
	conn *livetest.Conn
	done chan struct{}

	mu    sync.Mutex
	lat   []time.Duration // per answered result: received − (sent + RTT)
	first map[string]int64
	since int64 // results sent before (unix ms) are not recorded in first
}

// dial signs in as the viewer on addr, opens a socket and follows groups.
func dial(ctx context.Context, addr string, groups []string) (*socket, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	base := "http://" + addr
	resp, err := hc.Post(base+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"username":"viewer","password":"`+viewerPassword+`"}`))
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sign in on %s: %s", addr, resp.Status)
	}
	u, _ := url.Parse(base)
	hdr := http.Header{"Origin": {base}}
	for _, c := range jar.Cookies(u) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	conn, r, err := livetest.Dial(ctx, "ws://"+addr+"/api/v1/ws", hdr, livetest.Options{})
	if err != nil {
		if r != nil {
			err = fmt.Errorf("%w (%s)", err, r.Status)
		}
		return nil, err
	}
	if err := conn.WriteJSON(map[string]any{"type": "subscribe", "groups": groups}); err != nil {
		conn.Close()
		return nil, err
	}
	s := &socket{conn: conn, done: make(chan struct{}), first: map[string]int64{}, since: time.Now().UnixMilli()}
	go s.read()
	return s, nil
}

func (s *socket) read() {
	defer close(s.done)
	for {
		m, err := s.conn.Next(time.Now().Add(2 * time.Minute))
		if err != nil {
			return
		}
		if m.Type != "results" {
			continue
		}
		now := time.Now()
		s.mu.Lock()
		for _, it := range m.Items {
			if it.OK && it.RTTMs != nil {
				sent := time.UnixMilli(it.At).Add(time.Duration(*it.RTTMs * float64(time.Millisecond)))
				s.lat = append(s.lat, now.Sub(sent))
			}
			if it.At > s.since {
				if _, ok := s.first[it.T]; !ok {
					s.first[it.T] = it.At
				}
			}
		}
		s.mu.Unlock()
	}
}

func (s *socket) close() {
	s.conn.Close()
	<-s.done
}

// fleet is the clients.
type fleet []*socket

// connectClients opens n sockets, round robin over the replicas and the groups.
func connectClients(ctx context.Context, cl *replicaCluster, groups []string, n int) (fleet, error) {
	var f fleet
	for i := range n {
		s, err := dial(ctx, cl.addrs[i%len(cl.addrs)], []string{groups[i%len(groups)]})
		if err != nil {
			f.close()
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		f = append(f, s)
		if (i+1)%200 == 0 {
			fmt.Fprintf(os.Stderr, "clusterbench: %d clients connected\n", i+1)
		}
	}
	return f, nil
}

func (f fleet) close() {
	for _, s := range f {
		s.close()
	}
}

// reset forgets what was recorded so far.
func (f fleet) reset() {
	for _, s := range f {
		s.mu.Lock()
		s.lat = s.lat[:0]
		s.mu.Unlock()
	}
}

func (f fleet) latencies() []time.Duration {
	var out []time.Duration
	for _, s := range f {
		s.mu.Lock()
		out = append(out, s.lat...)
		s.mu.Unlock()
	}
	return out
}

// watcher follows every group on one replica.
type watcher struct{ *socket }

func connectWatcher(ctx context.Context, cl *replicaCluster, i int, groups []string) (watcher, error) {
	s, err := dial(ctx, cl.addrs[i], groups)
	return watcher{s}, err
}

// waitAllAfter waits until every one of n targets has a result sent after when, and
// returns the latest such first result's lag behind when.
func (w watcher) waitAllAfter(ctx context.Context, when time.Time, n int, limit time.Duration) (time.Duration, error) {
	w.mu.Lock()
	w.first, w.since = map[string]int64{}, when.UnixMilli()
	w.mu.Unlock()
	deadline := time.Now().Add(limit)
	for {
		w.mu.Lock()
		got := len(w.first)
		var worst int64
		for _, at := range w.first {
			worst = max(worst, at)
		}
		w.mu.Unlock()
		if got >= n {
			return time.UnixMilli(worst).Sub(when), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d of %d targets probed again %s after the kill", got, n, limit)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return 0, err
		}
	}
}
