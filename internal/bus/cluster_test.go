package bus

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/groups"
)

// freePorts reserves n loopback ports and frees them for the test to use.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var lns []net.Listener
	var ports []int
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

// openCluster starts n buses whose embedded servers are clustered on loopback, all at
// once as replicas started together would be, each with the same route list.
func openCluster(t *testing.T, n int) []*Bus {
	t.Helper()
	buses, _ := openClusterTLS(t, make([]RouteTLS, n))
	return buses
}

// openClusterTLS is openCluster with route TLS: len(routeTLS) buses, bus i with
// routeTLS[i] (off when zero), and their logs.
func openClusterTLS(t *testing.T, routeTLS []RouteTLS) ([]*Bus, []*logBuffer) {
	t.Helper()
	n := len(routeTLS)
	ports := freePorts(t, n)
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	buses := make([]*Bus, n)
	errs := make([]error, n)
	logs := make([]*logBuffer, n)
	var wg sync.WaitGroup
	for i := range n {
		logs[i] = &logBuffer{}
		wg.Go(func() {
			buses[i], errs[i] = Open(Config{StoreDir: filepath.Join(t.TempDir(), "bus"), User: "pingdeck", Password: "a-long-bus-password",
				Logger: slog.New(slog.NewTextHandler(logs[i], nil)),
				Cluster: ClusterConfig{Listen: fmt.Sprintf("127.0.0.1:%d", ports[i]), Routes: routes,
					NodeName: fmt.Sprintf("node%d", i), Replicas: 3, TLS: routeTLS[i]}})
		})
	}
	wg.Wait()
	for _, b := range buses {
		if b != nil {
			t.Cleanup(func() { b.Close() })
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open node%d: %v\nlog:\n%s", i, err, logs[i])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, b := range buses {
		if err := b.WaitJetStream(ctx); err != nil {
			t.Fatalf("node%d: %v\nlog:\n%s", i, err, logs[i])
		}
	}
	return buses, logs
}

func TestClusteredBusesShareStreamsAndChanges(t *testing.T) {
	buses := openCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Every replica opens the result stream: one stream, three copies.
	for i, b := range buses {
		s, _, err := b.OpenResults(ctx, StreamLimits{MaxBytes: 1 << 20, MaxAge: time.Hour})
		if err != nil {
			t.Fatalf("node%d OpenResults: %v", i, err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
			t.Fatalf("node%d: stream replicas %d, cluster %+v; want 3 copies", i, info.Config.Replicas, info.Cluster)
		}
		if err := b.Ready(); err != nil {
			t.Fatalf("node%d Ready: %v", i, err)
		}
	}
	// A change committed on one replica reaches the others.
	got := make(chan groups.Change, 4)
	for _, b := range buses[1:] {
		sub, err := b.SubscribeChanges(groups.SubscriberFunc(func(c groups.Change) { got <- c }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sub.Stop() })
	}
	// Routes carry interest asynchronously: publish until both have it.
	deadline := time.Now().Add(10 * time.Second)
	seen := 0
	for seen < 2 && time.Now().Before(deadline) {
		buses[0].PublishChange(groups.Change{Kind: groups.ChangeGroupUpdated, GroupID: "g1"})
		select {
		case c := <-got:
			if c.GroupID == "g1" {
				seen++
			}
		case <-time.After(200 * time.Millisecond):
		}
	}
	if seen < 2 {
		t.Fatalf("a change reached %d of the 2 other replicas", seen)
	}

	// Two of three go: the last one's Ready says JetStream lost its quorum.
	buses[1].Close()
	buses[2].Close()
	for deadline := time.Now().Add(45 * time.Second); ; {
		err := buses[0].Ready()
		if err != nil && strings.Contains(err.Error(), "no leader") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ready with two of three replicas gone: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestClusterNeedsCredentialsAndANodeName(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no credentials": {Cluster: ClusterConfig{Listen: "127.0.0.1:0", NodeName: "a"}},
		"no node name":   {User: "u", Password: "p", Cluster: ClusterConfig{Listen: "127.0.0.1:0"}},
		"no listen":      {User: "u", Password: "p", Cluster: ClusterConfig{Routes: []string{"nats://127.0.0.1:1"}, NodeName: "a"}},
	} {
		cfg.StoreDir = filepath.Join(t.TempDir(), "bus")
		b, err := Open(cfg)
		if err == nil {
			b.Close()
			t.Fatalf("%s: started", name)
		}
		if !strings.Contains(err.Error(), "cluster") && !strings.Contains(err.Error(), "credentials") {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestClusteredBusesOpenResultsTogether(t *testing.T) {
	buses := openCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(buses))
	for i, b := range buses {
		wg.Go(func() {
			_, _, errs[i] = b.OpenResults(ctx, StreamLimits{MaxBytes: 1 << 20, MaxAge: time.Hour})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node%d OpenResults: %v", i, err)
		}
	}
}
