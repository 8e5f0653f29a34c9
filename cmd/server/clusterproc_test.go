package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pingdeck/internal/bus/bustest"
	"pingdeck/internal/store/storetest"
)

// testCluster is several replicas of the real binary on one Postgres, their embedded
// NATS servers clustered over TLS routes.
type testCluster struct {
	t     *testing.T
	bin   string
	env   []string
	args  [][]string
	nodes []*proc
	dead  map[int]bool // killed and not restarted
}

func newTestCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	c := &testCluster{t: t, bin: buildPlainBinary(t), dead: map[int]bool{}}
	dsn := storetest.PostgresURL(t)
	var routes []string
	for _, port := range freeLoopbackPorts(t, n) {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", port))
	}
	c.env = []string{"PINGDECK_DB=" + dsn, "PINGDECK_MAX_STREAMS_PER_USER=" + fmt.Sprint(clusterStreamCap), "PINGDECK_ADMIN_PASSWORD=admin-password", "PINGDECK_ALLOW_TARGETS=127.0.0.0/8",
		"PINGDECK_NATS_USER=pingdeck", "PINGDECK_NATS_PASSWORD=cluster-bus-password", "PINGDECK_NATS_ROUTES=" + strings.Join(routes, ",")}
	// The routes are mutual TLS, as a cluster across hosts should run.
	ca := bustest.NewCA(t, "pingdeck test cluster")
	for i := range n {
		cert, key := ca.Issue(t, fmt.Sprintf("node%d", i))
		c.args = append(c.args, []string{"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data"),
			"--node-name", fmt.Sprintf("node%d", i), "--nats-cluster-listen", strings.TrimPrefix(routes[i], "nats://"),
			"--nats-cluster-tls-cert", cert, "--nats-cluster-tls-key", key, "--nats-cluster-tls-ca", ca.File})
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
	c.dead[i] = true
}

// restart starts replica i again, on its data directory and name.
func (c *testCluster) restart(t *testing.T, i int) {
	t.Helper()
	p, wait := spawn(t, c.bin, c.env, c.args[i]...)
	if err := wait(); err != nil {
		t.Fatalf("node%d restart: %v\nstderr:\n%s", i, err, p.stderr)
	}
	c.nodes[i] = p
	delete(c.dead, i)
}

// writerNode is the replica whose writer stores results now (it holds the writer's
// lease), waiting for one while the lease moves.
func (c *testCluster) writerNode(t *testing.T) int {
	t.Helper()
	holder := -1
	waitUntil(t, 20*time.Second, "a replica holding the writer's lease", func() bool {
		for i, n := range c.nodes {
			if c.dead[i] {
				continue
			}
			if metricValue(n.client().text("/metrics"), `pingdeck_cluster_task_held{task="writer"}`) == 1 {
				holder = i
				return true
			}
		}
		return false
	})
	return holder
}

// metaLeader is the replica whose NATS server leads JetStream's metadata now.
func (c *testCluster) metaLeader() int { return c.leaderBy("pingdeck_bus_jetstream_meta_leader") }

// leasesLeader is the index of the replica whose NATS server leads the lease bucket:
// killing it makes JetStream elect another leader before any lease can change hands.
func (c *testCluster) leasesLeader() int { return c.leaderBy("pingdeck_cluster_leases_leader") }

// plainReplica is the index of a live replica that leads neither JetStream's metadata
// nor the lease bucket.
func (c *testCluster) plainReplica() int {
	c.t.Helper()
	for i, n := range c.nodes {
		m := n.client().text("/metrics")
		if !c.dead[i] && metricValue(m, "pingdeck_bus_jetstream_meta_leader") == 0 && metricValue(m, "pingdeck_cluster_leases_leader") == 0 {
			return i
		}
	}
	c.t.Fatal("every replica leads something")
	return -1
}

// leaderBy is the index of the live replica whose gauge says 1.
func (c *testCluster) leaderBy(gauge string) int {
	c.t.Helper()
	for i, n := range c.nodes {
		if !c.dead[i] && metricValue(n.client().text("/metrics"), gauge) == 1 {
			return i
		}
	}
	c.t.Fatalf("no replica says %s 1", gauge)
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

// notWriterNode is a live replica that does not hold the writer's lease: its reads
// get the results held in open blocks by asking the writer (pingdeck.v1.held).
func (c *testCluster) notWriterNode(t *testing.T) int {
	t.Helper()
	w := c.writerNode(t)
	for i := range c.nodes {
		if i != w && !c.dead[i] {
			return i
		}
	}
	return w
}
