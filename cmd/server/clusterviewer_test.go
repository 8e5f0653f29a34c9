package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/live/livetest"
)

// liveViewer is a dashboard socket on one replica (then, after a kill, on another),
// recording what arrives: every sample of every target (from results, replays and
// snapshots), the group's names, the resume token and the last seq.
type liveViewer struct {
	conn *livetest.Conn
	done chan struct{}

	mu      sync.Mutex
	samples map[string]map[int64]bool // target → sent times (ms)
	lat     []time.Duration           // per answered live result: received − (sent + RTT)
	opened  time.Time                 // when the socket was opened: results sent before are replays
	names   map[string]time.Time      // group name → when a group_updated first said it
	token   string
	seq     uint64
	types   map[string]int // messages received, by type
	err     error          // why the socket's reading ended
}

// String sums up what v received, for failure messages.
func (v *liveViewer) String() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return fmt.Sprintf("received %v; names %v; reading ended: %v", v.types, v.names, v.err)
}

func (c *testCluster) watch(t *testing.T, n *proc) *liveViewer {
	t.Helper()
	v := &liveViewer{samples: map[string]map[int64]bool{}, names: map[string]time.Time{}, types: map[string]int{}}
	v.dial(t, n, "")
	return v
}

// dial connects v to n; with resume set, as a browser resuming from where v was.
func (v *liveViewer) dial(t *testing.T, n *proc, query string) {
	t.Helper()
	h := n.client()
	h.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	req, _ := http.NewRequest("GET", h.base, nil)
	hdr := http.Header{"Origin": {h.base}}
	for _, c := range h.c.Jar.Cookies(req.URL) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	conn, resp, err := livetest.Dial(context.Background(), "ws"+strings.TrimPrefix(h.base, "http")+"/api/v1/ws"+query, hdr, livetest.Options{})
	if err != nil {
		t.Fatalf("dial %s: %v (%s)", n.addr, err, responseText(resp))
	}
	v.mu.Lock()
	v.opened = time.Now()
	v.mu.Unlock()
	v.conn, v.done = conn, make(chan struct{})
	go v.read(conn, v.done)
}

// resumeOn reconnects v to n as the browser does after its replica died: with the
// resume token and the last seq it had.
func (v *liveViewer) resumeOn(t *testing.T, n *proc) {
	t.Helper()
	v.close()
	v.mu.Lock()
	q := "?" + url.Values{"resume": {v.token}, "since": {fmt.Sprint(v.seq)}}.Encode()
	v.types = map[string]int{} // from here on: what the resumed socket gets
	v.mu.Unlock()
	v.dial(t, n, q)
}

func (v *liveViewer) add(target string, at int64) {
	m := v.samples[target]
	if m == nil {
		m = map[int64]bool{}
		v.samples[target] = m
	}
	m[at] = true
}

func (v *liveViewer) read(conn *livetest.Conn, done chan struct{}) {
	defer close(done)
	for {
		m, err := conn.Next(time.Now().Add(time.Minute))
		if err != nil {
			v.mu.Lock()
			v.err = err
			v.mu.Unlock()
			return
		}
		now := time.Now()
		v.mu.Lock()
		v.types[m.Type]++
		switch m.Type {
		case "hello":
			v.token, v.seq = m.ResumeToken, m.Seq
		case "results":
			v.seq = m.Seq
			for _, it := range m.Items {
				v.add(it.T, it.At)
				if it.OK && it.RTTMs != nil && time.UnixMilli(it.At).After(v.opened) {
					sent := time.UnixMilli(it.At).Add(time.Duration(*it.RTTMs * float64(time.Millisecond)))
					v.lat = append(v.lat, now.Sub(sent))
				}
			}
		case "snapshot", "group_updated":
			if m.Type == "group_updated" {
				if _, ok := v.names[m.Group.Name]; !ok {
					v.names[m.Group.Name] = now
				}
			}
			for _, tg := range m.Group.Targets {
				for _, smp := range tg.Recent {
					v.add(tg.ID, smp.At)
				}
			}
		}
		v.mu.Unlock()
	}
}

func (v *liveViewer) close() {
	v.conn.Close()
	<-v.done
}

func (v *liveViewer) targetsSeen() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.samples)
}

func (v *liveViewer) latencies() []time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.lat)
}

// received counts the messages of type typ since v's socket was opened or resumed.
func (v *liveViewer) received(typ string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.types[typ]
}

// resumeToken is the token v's server gave it.
func (v *liveViewer) resumeToken() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.token
}

// renamedAt is when v heard the group renamed to name (zero: not yet).
func (v *liveViewer) renamedAt(name string) time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.names[name]
}

// has reports whether v got target's result sent at (ms).
func (v *liveViewer) has(target string, at int64) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.samples[target][at]
}

// waitAllAfter waits until every target has a result probed after when and returns
// the latest first such result's lag behind when: how long the targets of a killed
// replica went unprobed.
func (v *liveViewer) waitAllAfter(t *testing.T, when time.Time, n int, limit time.Duration) time.Duration {
	t.Helper()
	var worst time.Duration
	waitUntil(t, limit+5*time.Second, fmt.Sprintf("every target probed again within %s of the kill", limit), func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		worst = 0
		count := 0
		for _, ats := range v.samples {
			first := int64(-1)
			for at := range ats {
				if at > when.UnixMilli() && (first < 0 || at < first) {
					first = at
				}
			}
			if first >= 0 {
				count++
				worst = max(worst, time.UnixMilli(first).Sub(when))
			}
		}
		return count == n
	})
	return worst
}

// storedTimes lists the sent times of a target's stored results in [from, to).
func storedTimes(t *testing.T, h *httpClient, group, target string, from, to time.Time) []time.Time {
	t.Helper()
	var out []time.Time
	cursor := ""
	for {
		q := url.Values{"from": {from.UTC().Format(time.RFC3339Nano)}, "to": {to.UTC().Format(time.RFC3339Nano)}, "limit": {"10000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Samples []struct{ At string }
			Next    *string
		}
		h.call("GET", "/api/v1/groups/"+group+"/targets/"+target+"/samples?"+q.Encode(), nil, 200, &page)
		for _, s := range page.Samples {
			at, err := time.Parse(time.RFC3339Nano, s.At)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, at)
		}
		if page.Next == nil {
			return out
		}
		cursor = *page.Next
	}
}

// gapsAndDoubles counts, in sorted send times of a target probed every interval,
// the probes missing (a gap of k intervals is k−1 lost) and the probes of a slot
// already probed (two within half an interval: probed twice).
func gapsAndDoubles(times []time.Time, interval time.Duration) (lost, doubled int) {
	for i := 1; i < len(times); i++ {
		d := times[i].Sub(times[i-1])
		switch {
		case d < interval/2:
			doubled++
		case d > interval*3/2:
			lost += int((d+interval/2)/interval) - 1
		}
	}
	return lost, doubled
}

func TestGapsAndDoubles(t *testing.T) {
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, time.UnixMilli(int64(m)))
		}
		return out
	}
	for _, tc := range []struct {
		times         []time.Time
		lost, doubled int
	}{
		{at(0, 1000, 2000, 3000), 0, 0},
		{at(0, 1000, 4000), 2, 0},
		{at(0, 1000, 1003, 2000), 0, 1},
		{at(0, 1010, 1990, 3005), 0, 0},
	} {
		if l, d := gapsAndDoubles(tc.times, time.Second); l != tc.lost || d != tc.doubled {
			t.Errorf("%v: lost %d doubled %d, want %d %d", tc.times, l, d, tc.lost, tc.doubled)
		}
	}
}

// probeGroup creates, through admin, a group of n loopback targets (prefix.1 … prefix.n)
// probed every second, puts a viewer on every replica, and waits until every replica
// probes its share, every viewer sees every target, and all give one resume token (a
// browser may resume on any replica). The caller closes the viewers.
func (c *testCluster) probeGroup(t *testing.T, admin *httpClient, name, prefix string, n int) (e2eGroup, []*liveViewer) {
	t.Helper()
	var addrs []string
	for i := 1; i <= n; i++ {
		addrs = append(addrs, fmt.Sprintf("%s.%d", prefix, i))
	}
	var g e2eGroup
	admin.call("POST", "/api/v1/groups", map[string]any{"name": name, "interval": "1s", "targets": strings.Join(addrs, "\n")}, 201, &g)
	if len(g.Targets) != n {
		t.Fatalf("group has %d targets, want %d", len(g.Targets), n)
	}
	viewers := make([]*liveViewer, len(c.nodes))
	for i, node := range c.nodes {
		viewers[i] = c.watch(t, node)
	}
	waitUntil(t, 60*time.Second, "every replica probing its share (≥ 15 of 64 shards)", func() bool {
		for _, node := range c.nodes {
			if metricValue(node.client().text("/metrics"), "pingdeck_cluster_shards_held") < 15 {
				return false
			}
		}
		return true
	})
	for i, v := range viewers {
		waitUntil(t, 30*time.Second, fmt.Sprintf("viewer on node%d seeing every target", i), func() bool { return v.targetsSeen() == n })
	}
	for i, v := range viewers {
		if tok := v.resumeToken(); tok == "" || tok != viewers[0].resumeToken() {
			t.Fatalf("node%d's resume token %q, node0's %q: want one token for the cluster", i, tok, viewers[0].resumeToken())
		}
	}
	return g, viewers
}
