package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"pingdeck/internal/bus"
	"pingdeck/internal/cluster"
	"pingdeck/internal/store/storetest"
)

// Credentials of the external NATS cluster's clients (the replicas, the test).
const (
	extNATSUser     = "pingdeck"
	extNATSPassword = "external cluster password"
)

// TestReplicasOnExternalNATSCluster runs three replicas of the real binary on one
// throwaway Postgres and an external NATS cluster: three Debian nats-server processes
// clustered on loopback, JetStream keeping three copies (--nats-replicas 3), each
// replica given one server's URL (it learns the others from it). The replicas split
// the shards, every viewer sees every target, they share one resume token. Then:
//   - kill -9 the nats-server leading JetStream's metadata: JetStream keeps its quorum
//     with two of three, the replica on it reconnects to another, the others stay
//     ready all along, results keep flowing and being stored;
//   - kill -9 the writer's replica: its targets are probed again within the failover
//     bound, its browser resumes on another replica with a replay, the stored results
//     lack no more than the failover allows and are doubled at most once;
//   - kill -9 a second nats-server: no quorum, /readyz answers 503 naming the bus and
//     the replicas stop probing.
func TestReplicasOnExternalNATSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("three nats-servers and three replicas for a minute; not in -short")
	}
	ns := startNATSCluster(t, natsServerBinary(t), 3)
	c := newExternalCluster(t, ns.urls)
	t.Cleanup(func() {
		if t.Failed() {
			logClusterTrouble(t, c, ns)
		}
	})

	admin := c.login(t, 0)
	const nTargets = 24
	g, byNode := c.probeGroup(t, admin, "external cluster", "127.22.0", nTargets)
	defer func() {
		for _, v := range byNode {
			v.close()
		}
	}()
	settled := time.Now()
	checkThreeCopies(t, ns.urls[0], bus.ResultStream, "KV_"+cluster.Bucket)
	time.Sleep(5 * time.Second) // a stretch of steady probing first

	// kill -9 the nats-server leading JetStream's metadata, node<leader>'s bus.
	leader := ns.metaLeader(t)
	led := ns.streamsLed(t, leader)
	natsKilledAt := time.Now()
	ns.kill(leader)
	t.Logf("kill -9 nats-server ns%d at %s: the JetStream meta leader, leader of %v, the bus of node%d", leader, natsKilledAt.Format("15:04:05.000"), led, leader)
	notReady := watchReadiness(t, c, 15*time.Second)
	for i := range c.nodes {
		waitReady(t, c.nodes[i].client())
		t.Logf("  node%d: /readyz not 200 in %d of the polls over the 15 s after", i, notReady[i])
		if notReady[i] > 0 && i != leader {
			t.Errorf("node%d, whose nats-server lives, was not ready %d times after another nats-server died", i, notReady[i])
		}
	}
	waitUntil(t, 20*time.Second, fmt.Sprintf("node%d saying it reconnected to NATS", leader), func() bool {
		return strings.Contains(c.nodes[leader].stderr.String(), "bus: reconnected to NATS")
	})
	var natsGaps []time.Duration
	for _, v := range byNode {
		natsGaps = append(natsGaps, v.waitAllAfter(t, natsKilledAt, nTargets, 10*time.Second+5*time.Second))
	}
	// The replicas' announcements may have failed meanwhile (a replica then counts
	// fewer live ones and takes more than its share): they even out again.
	waitUntil(t, 60*time.Second, "every replica back to its share (≥ 15 of 64 shards) after the nats-server died", func() bool {
		return shardsHeld(t, c) == 64 && slices.Min(shardsByNode(t, c)) >= 15
	})
	time.Sleep(5 * time.Second)

	// kill -9 the writer's replica; its browser resumes on another 2 s later.
	killed := c.writerNode(t)
	t.Logf("shards held before the replica's kill: %v", shardsByNode(t, c))
	watcher, other := (killed+1)%3, (killed+2)%3
	moved := byNode[killed]
	killedAt := time.Now()
	c.kill(killed)
	time.Sleep(2 * time.Second) // the browser's backoff: results go on meanwhile
	moved.resumeOn(t, c.nodes[other])
	failover := byNode[watcher].waitAllAfter(t, killedAt, nTargets, 10*time.Second+5*time.Second)
	t.Logf("kill -9 the writer's replica (node%d): every target probed again after %s", killed, failover.Round(time.Millisecond))
	waitUntil(t, 30*time.Second, "the two live replicas holding all 64 shards", func() bool { return shardsHeld(t, c) == 64 })
	time.Sleep(3 * time.Second)
	missed := missedAroundMove(t, c, g, moved, killedAt.Add(-3*time.Second), time.Now().Add(-2*time.Second))
	if n, r := moved.received("snapshot"), moved.received("results"); n > 0 || r == 0 {
		t.Errorf("the browser resuming on node%d got %d snapshots and %d results messages; want a replay, no snapshot", other, n, r)
	}
	time.Sleep(5 * time.Second)
	end := time.Now()

	// What was stored, per target: around the nats-server's death, around the replica's.
	reader := c.login(t, c.notWriterNode(t))
	waitUntil(t, 30*time.Second, "the writer storing what was probed until the end", func() bool {
		for _, tg := range g.Targets {
			if len(storedTimes(t, reader, g.ID, tg.ID, end.Add(-3*time.Second), end)) == 0 {
				return false
			}
		}
		return true
	})
	natsKill := storedLosses(t, reader, g, settled, killedAt)
	kill := storedLosses(t, reader, g, killedAt.Add(-time.Second), end.Add(-3*time.Second))

	t.Logf("3 replicas on an external 3-node NATS cluster (R3), %d targets at 1 s:", nTargets)
	t.Logf("  kill -9 of nats-server ns%d (meta leader): every viewer had results of every target within %v after; stored %s: lost %d (%d targets, one at most %d), duplicated %d",
		leader, roundAll(natsGaps), killedAt.Sub(settled).Round(time.Second), natsKill.lost, len(natsKill.gaps), natsKill.worstLost, natsKill.doubled)
	for _, gap := range natsKill.gaps {
		t.Logf("    gap after the nats-server died: %s", gap)
	}
	t.Logf("  kill -9 of the writer's replica: every target probed again after %s (bound 10s); stored %s: lost %d (%d targets, one at most %d), duplicated %d, worst target doubled %d",
		failover.Round(time.Millisecond), end.Sub(killedAt).Round(time.Second), kill.lost, len(kill.gaps), kill.worstLost, kill.doubled, kill.worstDoubled)
	t.Logf("  its browser resumed on node%d: %d results messages, %d snapshots, lacked %d stored results", other, moved.received("results"), moved.received("snapshot"), missed)

	// A nats-server of three dying hands nothing over: its clients reconnect, the
	// leases are renewed (or, when a stream's election outlasts them, let go and
	// retaken), the writer goes on. No target goes unprobed past the failover bound.
	for _, gap := range natsGaps {
		if gap > 10*time.Second {
			t.Errorf("after a nats-server died, a target's next result came %s later, bound 10s", gap)
		}
	}
	if natsKill.worstLost > 10 {
		t.Errorf("after a nats-server died, a target lost %d results in a row, more than the failover bound (10 s) allows", natsKill.worstLost)
	}
	if natsKill.worstDoubled > 1 {
		t.Errorf("a target was probed twice in %d seconds after a nats-server died; at most 1 allowed", natsKill.worstDoubled)
	}
	if failover > 10*time.Second {
		t.Errorf("failover took %s, bound 10s", failover)
	}
	// A kill loses at most the failover time of the killed replica's targets (a third
	// of them), and doubles at most one interval of a target (one handover).
	if bound := 11 * (nTargets/3 + 2); kill.lost > bound {
		t.Errorf("%d results lost over the replica's kill, more than the failover allows (%d)", kill.lost, bound)
	}
	if kill.worstLost > 10 {
		t.Errorf("over the replica's kill a target lost %d results in a row, more than the failover bound (10 s) allows", kill.worstLost)
	}
	if kill.worstDoubled > 1 {
		t.Errorf("a target was probed twice in %d seconds around one handover; at most 1 allowed", kill.worstDoubled)
	}
	if missed > 0 {
		t.Errorf("the browser resuming on another replica lacked %d stored results", missed)
	}

	// A second nats-server of three goes: JetStream has no quorum. Every replica's
	// /readyz says the bus is the problem, and they let their leases go.
	ns.kill((leader + 1) % len(ns.urls))
	for i, n := range c.nodes {
		if c.dead[i] {
			continue
		}
		h := n.client()
		var why string
		waitUntil(t, 30*time.Second, fmt.Sprintf("/readyz of node%d failing once JetStream lost its quorum", i), func() bool {
			var code int
			code, why = h.status("GET", "/readyz", nil)
			return code == 503 && strings.Contains(why, "bus")
		})
		t.Logf("  two nats-servers of three down: node%d /readyz 503 %s", i, strings.TrimSpace(why))
	}
	waitUntil(t, 30*time.Second, "the replicas letting their shards go without a quorum", func() bool { return shardsHeld(t, c) == 0 })
}

// checkThreeCopies: every stream pingdeck made on the external NATS (the result
// stream, the key-value buckets), the ones named in want among them, is kept in three
// copies on three servers (--nats-replicas 3).
func checkThreeCopies(t *testing.T, url string, want ...string) {
	t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo(extNATSUser, extNATSPassword), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	found := map[string]bool{}
	streams := js.ListStreams(ctx)
	for info := range streams.Info() {
		name := info.Config.Name
		found[name] = true
		if peers := info.Cluster; info.Config.Replicas != 3 || peers == nil || len(peers.Replicas) != 2 {
			t.Errorf("stream %s: %d replicas configured, cluster %+v; want 3 copies (a leader and two peers)", name, info.Config.Replicas, peers)
		}
	}
	if err := streams.Err(); err != nil {
		t.Fatalf("list the streams on the external NATS: %v", err)
	}
	for _, name := range want {
		if !found[name] {
			t.Errorf("no stream %s on the external NATS; found %v", name, found)
		}
	}
	t.Logf("streams on the external NATS, each in 3 copies: %v", found)
}

// natsServerBinary is Debian's nats-server; the test is skipped without it, or fails
// under CI (make test-deps installs it).
func natsServerBinary(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("nats-server"); err == nil {
		return bin
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil {
		return "/usr/sbin/nats-server"
	}
	if os.Getenv("CI") != "" {
		t.Fatal("nats-server is not installed (make test-deps installs it)")
	}
	t.Skip("nats-server is not installed (make test-deps installs it)")
	return ""
}

// natsCluster is nats-server processes clustered on loopback, JetStream on.
type natsCluster struct {
	urls     []string
	monitors []string // the servers' monitoring endpoints
	procs    []*exec.Cmd
	exited   []chan struct{}
	logs     []*lockedBuffer
}

// startNATSCluster starts n nats-servers routed to each other and waits until their
// JetStream has a meta leader.
func startNATSCluster(t *testing.T, bin string, n int) *natsCluster {
	t.Helper()
	ports := freeLoopbackPorts(t, 3*n)
	client, routes, monitor := ports[:n], ports[n:2*n], ports[2*n:]
	ns := &natsCluster{}
	for i := range n {
		var others []string
		for j, p := range routes {
			if j != i {
				others = append(others, fmt.Sprintf("%q", fmt.Sprintf("nats-route://127.0.0.1:%d", p)))
			}
		}
		conf := fmt.Sprintf(`server_name: "ns%d"
listen: "127.0.0.1:%d"
http: "127.0.0.1:%d"
jetstream { store_dir: %q }
authorization { user: %q, password: %q }
cluster {
  name: "pingdeck-external"
  listen: "127.0.0.1:%d"
  routes: [%s]
}
`, i, client[i], monitor[i], filepath.Join(t.TempDir(), "js"), extNATSUser, extNATSPassword, routes[i], strings.Join(others, ", "))
		path := filepath.Join(t.TempDir(), "nats.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		ns.urls = append(ns.urls, fmt.Sprintf("nats://127.0.0.1:%d", client[i]))
		ns.monitors = append(ns.monitors, fmt.Sprintf("http://127.0.0.1:%d", monitor[i]))
		ns.start(t, bin, path)
	}
	ns.waitMetaLeader(t, 60*time.Second)
	return ns
}

// start runs one nats-server on the config file at path, killed when the test ends.
func (ns *natsCluster) start(t *testing.T, bin, path string) {
	t.Helper()
	cmd := exec.Command(bin, "-c", path)
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	ns.procs, ns.exited, ns.logs = append(ns.procs, cmd), append(ns.exited, exited), append(ns.logs, log)
}

// waitMetaLeader waits until JetStream answers on every server: the cluster has
// elected a meta leader.
func (ns *natsCluster) waitMetaLeader(t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for i, u := range ns.urls {
		var err error
		for {
			if err = jetStreamAnswers(u); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("JetStream of nats-server ns%d (%s) did not answer within %s: %v\n%s", i, u, limit, err, ns.logs[i])
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// jetStreamAnswers asks the server at u for the account's JetStream info.
func jetStreamAnswers(u string) error {
	nc, err := nats.Connect(u, nats.UserInfo(extNATSUser, extNATSPassword), nats.Timeout(2*time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}

// kill stops nats-server i as kill -9 does.
func (ns *natsCluster) kill(i int) {
	ns.procs[i].Process.Signal(syscall.SIGKILL)
	<-ns.exited[i]
}

// metaLeader is the server leading JetStream's metadata, as its monitoring says.
func (ns *natsCluster) metaLeader(t *testing.T) int {
	t.Helper()
	for _, m := range ns.monitors {
		resp, err := http.Get(m + "/jsz")
		if err != nil {
			continue // killed
		}
		var jsz struct {
			Meta struct{ Leader string } `json:"meta_cluster"`
		}
		err = json.NewDecoder(resp.Body).Decode(&jsz)
		resp.Body.Close()
		if n, ok := strings.CutPrefix(jsz.Meta.Leader, "ns"); err == nil && ok {
			var i int
			if _, err := fmt.Sscan(n, &i); err == nil && i >= 0 && i < len(ns.urls) {
				return i
			}
		}
	}
	t.Fatal("no nats-server names a JetStream meta leader")
	return -1
}

// streamsLed names the streams whose leader is server i, as its monitoring says.
func (ns *natsCluster) streamsLed(t *testing.T, i int) []string {
	t.Helper()
	resp, err := http.Get(ns.monitors[i] + "/jsz?accounts=true&streams=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jsz struct {
		Accounts []struct {
			Streams []struct {
				Name    string
				Cluster *struct{ Leader string }
			} `json:"stream_detail"`
		} `json:"account_details"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jsz); err != nil {
		t.Fatalf("ns%d /jsz: %v", i, err)
	}
	var led []string
	for _, a := range jsz.Accounts {
		for _, st := range a.Streams {
			if st.Cluster != nil && st.Cluster.Leader == fmt.Sprintf("ns%d", i) {
				led = append(led, st.Name)
			}
		}
	}
	return led
}

// freeLoopbackPorts are n ports free on 127.0.0.1 a moment ago.
func freeLoopbackPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// newExternalCluster starts a replica per server of the NATS cluster at urls, on one
// throwaway Postgres: replica i is given urls[i] only (the NATS client learns the
// cluster's other servers from it) and three copies.
func newExternalCluster(t *testing.T, urls []string) *testCluster {
	t.Helper()
	c := &testCluster{t: t, bin: buildPlainBinary(t), dead: map[int]bool{}}
	c.env = []string{"PINGDECK_DB=" + storetest.PostgresURL(t), "PINGDECK_ADMIN_PASSWORD=admin-password", "PINGDECK_ALLOW_TARGETS=127.0.0.0/8",
		"PINGDECK_NATS_USER=" + extNATSUser, "PINGDECK_NATS_PASSWORD=" + extNATSPassword}
	for i, u := range urls {
		c.args = append(c.args, []string{"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data"),
			"--node-name", fmt.Sprintf("node%d", i), "--nats-url", u, "--nats-replicas", "3"})
	}
	c.nodes = make([]*proc, len(urls))
	waits := make([]func() error, len(urls))
	for i := range urls {
		c.nodes[i], waits[i] = spawn(t, c.bin, c.env, c.args[i]...)
	}
	for i, wait := range waits {
		if err := wait(); err != nil {
			t.Fatalf("node%d: %v\nstderr:\n%s", i, err, c.nodes[i].stderr)
		}
	}
	return c
}

// shardsHeld sums pingdeck_cluster_shards_held over the live replicas.
func shardsHeld(t *testing.T, c *testCluster) int {
	t.Helper()
	sum := 0
	for _, n := range shardsByNode(t, c) {
		sum += n
	}
	return sum
}

// shardsByNode is pingdeck_cluster_shards_held of each live replica.
func shardsByNode(t *testing.T, c *testCluster) []int {
	t.Helper()
	var held []int
	for i, n := range c.nodes {
		if !c.dead[i] {
			held = append(held, int(metricValue(n.client().text("/metrics"), "pingdeck_cluster_shards_held")))
		}
	}
	return held
}

// watchReadiness polls /readyz of every live replica for span and counts, per
// replica, the answers that were not 200.
func watchReadiness(t *testing.T, c *testCluster, span time.Duration) map[int]int {
	t.Helper()
	notReady := map[int]int{}
	for deadline := time.Now().Add(span); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for i, n := range c.nodes {
			if c.dead[i] {
				continue
			}
			h := n.client()
			resp, err := h.c.Get(h.base + "/readyz")
			if err != nil {
				notReady[i]++
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				notReady[i]++
			}
		}
	}
	return notReady
}

// missedAroundMove counts the results stored in [from, to) that the moved browser
// lacks, reading as a replica that is not the writer does.
func missedAroundMove(t *testing.T, c *testCluster, g e2eGroup, moved *liveViewer, from, to time.Time) int {
	t.Helper()
	reader := c.login(t, c.notWriterNode(t))
	waitUntil(t, 20*time.Second, "results up to now stored", func() bool {
		return len(storedTimes(t, reader, g.ID, g.Targets[0].ID, to, time.Now())) > 0
	})
	missed := 0
	for _, tg := range g.Targets {
		for _, at := range storedTimes(t, reader, g.ID, tg.ID, from, to) {
			if !moved.has(tg.ID, at.UnixMilli()) {
				missed++
				t.Logf("resumed browser lacks %s's result of %s", tg.Address, at.Format("15:04:05.000"))
			}
		}
	}
	return missed
}

// losses sums gapsAndDoubles over a group's targets.
type losses struct {
	lost, doubled           int
	worstLost, worstDoubled int      // of one target
	gaps                    []string // per target that lost results: when
}

// gapSpans lists the gaps (more than one and a half intervals) in sorted send times.
func gapSpans(times []time.Time, interval time.Duration) string {
	var spans []string
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d > interval*3/2 {
			spans = append(spans, fmt.Sprintf("%s–%s", times[i-1].Format("15:04:05.000"), times[i].Format("15:04:05.000")))
		}
	}
	return strings.Join(spans, ", ")
}

func storedLosses(t *testing.T, h *httpClient, g e2eGroup, from, to time.Time) losses {
	t.Helper()
	var l losses
	for _, tg := range g.Targets {
		times := storedTimes(t, h, g.ID, tg.ID, from, to)
		lost, doubled := gapsAndDoubles(times, time.Second)
		if lost > 0 {
			l.gaps = append(l.gaps, fmt.Sprintf("%s %s", tg.Address, gapSpans(times, time.Second)))
		}
		l.lost += lost
		l.doubled += doubled
		l.worstLost = max(l.worstLost, lost)
		l.worstDoubled = max(l.worstDoubled, doubled)
	}
	return l
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// logClusterTrouble logs the replicas' warnings and errors and the nats-servers' logs.
func logClusterTrouble(t *testing.T, c *testCluster, ns *natsCluster) {
	for i, n := range c.nodes {
		var lines []string
		for _, l := range strings.Split(n.stderr.String(), "\n") {
			if strings.Contains(l, `"level":"WARN"`) || strings.Contains(l, `"level":"ERROR"`) {
				lines = append(lines, l)
			}
		}
		t.Logf("node%d warnings and errors:\n%s", i, strings.Join(lines, "\n"))
	}
	for i, l := range ns.logs {
		t.Logf("nats-server ns%d:\n%s", i, l)
	}
}
