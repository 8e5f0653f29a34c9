package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pingdeck/internal/live/livetest"
	"pingdeck/internal/store/storetest"
)

// TestClusterFailover runs three replicas of the real binary on one throwaway
// Postgres, their embedded NATS servers clustered on loopback, probing loopback
// targets, with a WebSocket client on each. It kills one replica (kill -9) under
// probing and live load, restarts it, then kills the replica whose NATS server leads
// JetStream, and restarts that one; it prints, from the live streams and the stored
// results, the failover times and the results lost, duplicated and probed twice, and
// holds them to the bounds.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("three replicas for a minute and a half; not in -short")
	}
	c := newTestCluster(t, 3)
	t.Cleanup(func() {
		if t.Failed() {
			for i, n := range c.nodes {
				var lines []string
				for _, l := range strings.Split(n.stderr.String(), "\n") {
					if strings.Contains(l, `"level":"WARN"`) || strings.Contains(l, `"level":"ERROR"`) {
						lines = append(lines, l)
					}
				}
				t.Logf("node%d warnings and errors:\n%s", i, strings.Join(lines, "\n"))
			}
		}
	})
	admin := c.nodes[0].client()
	admin.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	const nTargets = 48
	var addrs []string
	for i := 1; i <= nTargets; i++ {
		addrs = append(addrs, fmt.Sprintf("127.21.0.%d", i))
	}
	var g struct {
		ID      string
		Targets []struct{ ID, Address string }
	}
	admin.call("POST", "/api/v1/groups", map[string]any{"name": "cluster", "interval": "1s", "targets": strings.Join(addrs, "\n")}, 201, &g)
	if len(g.Targets) != nTargets {
		t.Fatalf("group has %d targets, want %d", len(g.Targets), nTargets)
	}

	// A viewer on every replica.
	byNode := make([]*liveViewer, len(c.nodes))
	var viewers []*liveViewer
	for i, n := range c.nodes {
		byNode[i] = c.watch(t, n)
		viewers = append(viewers, byNode[i])
	}
	defer func() {
		for _, v := range viewers {
			v.close()
		}
	}()

	// The shards settle: every replica probes a share, every target is answered on
	// every viewer (whichever replica probed it).
	waitUntil(t, 60*time.Second, "every replica probing its share", func() bool {
		for _, n := range c.nodes {
			if metricValue(n.client().text("/metrics"), "pingdeck_cluster_shards_held") < 15 {
				return false
			}
		}
		return true
	})
	for i, v := range viewers {
		waitUntil(t, 30*time.Second, fmt.Sprintf("viewer %d seeing every target", i), func() bool { return v.targetsSeen() == nTargets })
	}
	settled := time.Now()

	// A change made on one replica reaches the sockets of every replica within 1 s.
	renamed := time.Now()
	admin.call("PATCH", "/api/v1/groups/"+g.ID, map[string]string{"name": "cluster renamed"}, 200, nil)
	var changeLag time.Duration
	for i, v := range viewers {
		waitUntil(t, 5*time.Second, fmt.Sprintf("viewer %d hearing of the rename (%s)", i, v), func() bool { return !v.renamedAt("cluster renamed").IsZero() })
		changeLag = max(changeLag, v.renamedAt("cluster renamed").Sub(renamed))
	}
	t.Logf("a rename on node0 reached the sockets of all three replicas within %s", changeLag.Round(time.Millisecond))
	if changeLag > time.Second {
		t.Errorf("a change took %s to reach another replica's sockets, bound 1s", changeLag)
	}
	time.Sleep(5 * time.Second)

	// kill -9 one replica; then the one leading JetStream's metadata. The browser on
	// the killed replica reconnects to another, resuming.
	kills := []struct {
		name string
		pick func() int
	}{
		{"a replica", func() int { return 1 }},
		{"the JetStream meta leader's replica", c.metaLeader},
	}
	var failovers []time.Duration
	missedOnResume := 0
	for _, k := range kills {
		i := k.pick()
		watcher := byNode[(i+1)%len(c.nodes)]
		moved, other := byNode[i], (i+2)%len(c.nodes)
		killedAt := time.Now()
		c.kill(i)
		moved.resumeOn(t, c.nodes[other])
		byNode[i] = nil
		took := watcher.waitAllAfter(t, killedAt, nTargets, 10*time.Second+5*time.Second)
		failovers = append(failovers, took)
		t.Logf("kill -9 %s (node%d): every target probed again after %s", k.name, i, took.Round(time.Millisecond))

		// The moved browser has every result stored around its move: none went
		// missing between its socket on the dead replica and the one on node other.
		time.Sleep(3 * time.Second)
		reader := c.login(t, other)
		checkFrom, checkTo := killedAt.Add(-3*time.Second), time.Now().Add(-2*time.Second)
		waitUntil(t, 20*time.Second, "results up to now stored", func() bool {
			return len(storedTimes(t, reader, g.ID, g.Targets[0].ID, checkTo, time.Now())) > 0
		})
		for _, tg := range g.Targets {
			for _, at := range storedTimes(t, reader, g.ID, tg.ID, checkFrom, checkTo) {
				if !moved.has(tg.ID, at.UnixMilli()) {
					missedOnResume++
					t.Logf("resumed browser lacks %s's result of %s", tg.Address, at.Format("15:04:05.000"))
				}
			}
		}

		c.restart(t, i)
		byNode[i] = c.watch(t, c.nodes[i])
		viewers = append(viewers, byNode[i])
		waitUntil(t, 60*time.Second, "the restarted replica taking its share back", func() bool {
			return metricValue(c.nodes[i].client().text("/metrics"), "pingdeck_cluster_shards_held") >= 15
		})
		time.Sleep(5 * time.Second)
	}
	end := time.Now()

	// Cross-replica delivery: a result probed on one replica reaches every viewer.
	var lat []time.Duration
	for _, v := range viewers {
		lat = append(lat, v.latencies()...)
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		t.Fatal("no live results measured")
	}
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]

	// What was stored, per target: a second with no result is lost, one with two
	// was probed twice.
	admin = c.login(t, 0) // node0 may have been restarted, on another port
	from, to := settled, end.Add(-3*time.Second)
	waitUntil(t, 30*time.Second, "the writers storing what was probed until the end", func() bool {
		for _, tg := range g.Targets {
			if len(storedTimes(t, admin, g.ID, tg.ID, to, end)) == 0 {
				return false
			}
		}
		return true
	})
	lost, doubled, twice := 0, 0, 0
	worstDoubled := 0
	for _, tg := range g.Targets {
		times := storedTimes(t, admin, g.ID, tg.ID, from, to)
		l, d := gapsAndDoubles(times, time.Second)
		lost += l
		doubled += d
		if d > 0 {
			twice++
		}
		worstDoubled = max(worstDoubled, d)
	}
	t.Logf("cluster of 3, %d targets at 1 s, %s measured:", nTargets, to.Sub(from).Round(time.Second))
	t.Logf("  failover after kill -9: %v (bound 10s)", failovers)
	t.Logf("  live delivery across replicas (sent → viewer): p50 %s, p99 %s over %d results", p50.Round(time.Millisecond), p99.Round(time.Millisecond), len(lat))
	t.Logf("  stored results lost: %d, duplicated (a second probed twice): %d, targets probed twice at some moment: %d", lost, doubled, twice)
	t.Logf("  a browser moved to another replica lacked %d stored results of the seconds around its move", missedOnResume)
	t.Logf("  a change on one replica reached the others' sockets within %s", changeLag.Round(time.Millisecond))

	for _, f := range failovers {
		if f > 10*time.Second {
			t.Errorf("failover took %s, bound 10s", f)
		}
	}
	if p99 > time.Second+time.Second { // the probe's interval plus the 1 s
		t.Errorf("live delivery p99 %s", p99)
	}
	// Each kill loses at most the failover time of the killed replica's targets
	// (a third of them); each handover (a kill, a return) doubles at most one
	// interval of a target.
	if bound := 2 * 11 * (nTargets/3 + 2); lost > bound {
		t.Errorf("%d results lost, more than the failover allows (%d)", lost, bound)
	}
	if missedOnResume > 0 {
		t.Errorf("browsers resuming on another replica lacked %d stored results", missedOnResume)
	}
	if worstDoubled > 4 {
		t.Errorf("a target was probed twice in %d seconds; at most one per handover (4) allowed", worstDoubled)
	}
	checkLimitsAcrossReplicas(t, c, admin)

	// Two of three go: the last one has lost the bus's quorum, and /readyz says so.
	c.kill(1)
	c.kill(2)
	lone := c.nodes[0].client()
	var why string
	waitUntil(t, 60*time.Second, "/readyz of a replica without quorum failing", func() bool {
		resp, err := lone.c.Get(lone.base + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		why = string(body)
		return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(why, "bus")
	})
	t.Logf("  /readyz of the replica left alone: 503 %s", strings.TrimSpace(why))

	for i, n := range c.nodes {
		if log := n.stderr.String(); strings.Contains(log, "DATA RACE") {
			t.Errorf("node%d: data race:\n%s", i, log)
		}
	}
}

// clusterStreamCap is --max-streams-per-user in the cluster tests.
const clusterStreamCap = 8

// checkLimitsAcrossReplicas: a user's live streams and failed sign-ins count on every
// replica, spread over them as a round-robin balancer would.
func checkLimitsAcrossReplicas(t *testing.T, c *testCluster, admin *httpClient) {
	t.Helper()
	admin.call("POST", "/api/v1/users", map[string]string{"username": "bob", "password": "bob-password"}, 201, nil)
	var bobs []*httpClient
	for _, n := range c.nodes {
		h := n.client()
		h.call("POST", "/api/v1/auth/login", map[string]string{"username": "bob", "password": "bob-password"}, 200, nil)
		bobs = append(bobs, h)
	}
	var open []*livetest.Conn
	defer func() {
		for _, conn := range open {
			conn.Close()
		}
	}()
	for i := range clusterStreamCap {
		h := bobs[i%len(bobs)]
		conn, resp, err := h.wsDial(http.Header{"Origin": {h.base}}, livetest.Options{})
		if err != nil {
			t.Fatalf("bob's stream %d of %d: %v (%s)", i+1, clusterStreamCap, err, responseText(resp))
		}
		open = append(open, conn)
	}
	for i, h := range bobs {
		_, resp, err := h.wsDial(http.Header{"Origin": {h.base}}, livetest.Options{})
		if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("bob's stream %d on node%d past the cap of %d: %v (%s), want 429", clusterStreamCap+1, i, clusterStreamCap, err, responseText(resp))
		}
	}
	// One closes on node0: another may open on node1.
	open[0].Close()
	open = open[1:]
	waitUntil(t, 10*time.Second, "a closed stream uncounted on another replica", func() bool {
		conn, _, err := bobs[1].wsDial(http.Header{"Origin": {bobs[1].base}}, livetest.Options{})
		if err == nil {
			open = append(open, conn)
		}
		return err == nil
	})
	t.Logf("  bob's live streams capped at %d across the three replicas", clusterStreamCap)

	// Failed sign-ins from one address, spread over the replicas (clients without the
	// device cookie bob's own browsers have): the burst (5), then 429 everywhere.
	var strangers []*httpClient
	for _, n := range c.nodes {
		strangers = append(strangers, n.client())
	}
	for i := range 5 {
		strangers[i%len(strangers)].call("POST", "/api/v1/auth/login", map[string]string{"username": "bob", "password": "wrong-password"}, 401, nil)
	}
	for _, h := range strangers {
		h.call("POST", "/api/v1/auth/login", map[string]string{"username": "bob", "password": "wrong-password"}, 429, nil)
	}
	// bob's device cookie, set by node0, is believed by node2: his own sign-in there
	// spends from his device's budget and passes while strangers are held back.
	bobs[0].base = c.nodes[2].client().base
	bobs[0].call("POST", "/api/v1/auth/login", map[string]string{"username": "bob", "password": "bob-password"}, 200, nil)
	t.Logf("  failed sign-ins limited across the replicas: 5 refused with 401, then 429 on every replica")
}

// testCluster is several replicas of the real binary on one Postgres.
type testCluster struct {
	t     *testing.T
	bin   string
	env   []string
	args  [][]string
	nodes []*proc
}

func newTestCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	c := &testCluster{t: t, bin: buildPlainBinary(t)}
	dsn := storetest.PostgresURL(t)
	var listeners []net.Listener
	var routes []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		listeners = append(listeners, ln)
		routes = append(routes, "nats://"+ln.Addr().String())
	}
	for _, ln := range listeners {
		ln.Close()
	}
	c.env = []string{"PINGDECK_DB=" + dsn, "PINGDECK_MAX_STREAMS_PER_USER=" + fmt.Sprint(clusterStreamCap), "PINGDECK_ADMIN_PASSWORD=admin-password", "PINGDECK_ALLOW_TARGETS=127.0.0.0/8",
		"PINGDECK_NATS_USER=pingdeck", "PINGDECK_NATS_PASSWORD=cluster-bus-password", "PINGDECK_NATS_ROUTES=" + strings.Join(routes, ",")}
	for i := range n {
		c.args = append(c.args, []string{"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data"),
			"--node-name", fmt.Sprintf("node%d", i), "--nats-cluster-listen", strings.TrimPrefix(routes[i], "nats://")})
	}
	// They start together: each waits for a quorum of the others' NATS servers.
	c.nodes = make([]*proc, n)
	waits := make([]func() error, n)
	for i := range n {
		c.nodes[i], waits[i] = spawn(t, c.bin, c.env, c.args[i]...)
	}
	for i, wait := range waits {
		if err := wait(); err != nil {
			t.Fatalf("node%d: %v\nstderr:\n%s", i, err, c.nodes[i].stderr)
		}
	}
	return c
}

// login is an admin's client of replica i.
func (c *testCluster) login(t *testing.T, i int) *httpClient {
	t.Helper()
	h := c.nodes[i].client()
	h.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	return h
}

// kill stops replica i as kill -9 does.
func (c *testCluster) kill(i int) {
	c.nodes[i].cmd.Process.Signal(syscall.SIGKILL)
	<-c.nodes[i].exited
}

// restart starts replica i again, on its data directory and name.
func (c *testCluster) restart(t *testing.T, i int) {
	t.Helper()
	p, wait := spawn(t, c.bin, c.env, c.args[i]...)
	if err := wait(); err != nil {
		t.Fatalf("node%d restart: %v\nstderr:\n%s", i, err, p.stderr)
	}
	c.nodes[i] = p
}

// metaLeader is the replica whose NATS server leads JetStream's metadata now.
func (c *testCluster) metaLeader() int {
	c.t.Helper()
	for i, n := range c.nodes {
		if metricValue(n.client().text("/metrics"), "pingdeck_bus_jetstream_meta_leader") == 1 {
			return i
		}
	}
	c.t.Fatal("no replica leads JetStream")
	return -1
}

// spawn starts the binary and returns at once, with what waits for its "listening"
// line (so that several can start together).
func spawn(t *testing.T, binary string, env []string, args ...string) (*proc, func() error) {
	t.Helper()
	p := &proc{t: t, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p.stdout
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.stderr.Write([]byte(line + "\n"))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "pingdeck listening" {
				addrCh <- rec.Addr
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() { err := p.cmd.Wait(); pw.Close(); p.exited <- err }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p, func() error {
		select {
		case p.addr = <-addrCh:
			return nil
		case err := <-p.exited:
			p.exited <- err
			return fmt.Errorf("exited before listening: %v", err)
		case <-time.After(90 * time.Second):
			// Where it is stuck: Go prints every goroutine's stack on SIGQUIT.
			p.cmd.Process.Signal(syscall.SIGQUIT)
			select {
			case <-p.exited:
			case <-time.After(5 * time.Second):
			}
			return fmt.Errorf("not listening after 90 s")
		}
	}
}

// liveViewer is a dashboard socket on one replica (then, after a kill, on another),
// recording what arrives: every sample of every target (from results, replays and
// snapshots), the group's names, the resume token and the last seq.
type liveViewer struct {
	conn *livetest.Conn
	done chan struct{}

	mu      sync.Mutex
	samples map[string]map[int64]bool // target → sent times (ms)
	lat     []time.Duration           // per answered live result: received − (sent + RTT)
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
				if it.OK && it.RTTMs != nil {
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
