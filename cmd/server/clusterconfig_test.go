package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pingdeck/internal/bus"
	"pingdeck/internal/bus/bustest"
)

func TestClusterConfig(t *testing.T) {
	env := func(string) string { return "" }
	pg := "postgres://u:p@127.0.0.1/db"
	creds := []string{"--nats-user", "pingdeck", "--nats-password", "a-long-bus-password"}
	routes := "nats://10.0.0.1:6222,nats://10.0.0.2:6222,nats://10.0.0.3:6222"
	for _, tc := range []struct {
		name     string
		args     []string
		wantErr  string // "" for none
		replicas int
	}{
		{"three routes: three copies", append([]string{"--db", pg, "--nats-cluster-listen", "0.0.0.0:6222", "--nats-routes", routes, "--node-name", "a"}, creds...), "", 3},
		{"two routes: one copy", append([]string{"--db", pg, "--nats-cluster-listen", "0.0.0.0:6222", "--nats-routes", "nats://10.0.0.1:6222,nats://10.0.0.2:6222", "--node-name", "a"}, creds...), "", 1},
		{"SQLite in a cluster", append([]string{"--nats-cluster-listen", "0.0.0.0:6222", "--nats-routes", routes, "--node-name", "a"}, creds...), "--db (PINGDECK_DB): SQLite is one machine's database", 0},
		{"no credentials", []string{"--db", pg, "--nats-cluster-listen", "0.0.0.0:6222", "--nats-routes", routes}, "refusing to cluster the bus without credentials", 0},
		{"routes without a listen address", append([]string{"--db", pg, "--nats-routes", routes}, creds...), "--nats-cluster-listen (PINGDECK_NATS_CLUSTER_LISTEN): --nats-routes needs", 0},
		{"a listen address without routes", append([]string{"--db", pg, "--nats-cluster-listen", "0.0.0.0:6222"}, creds...), "--nats-routes (PINGDECK_NATS_ROUTES): a cluster needs the replicas' route URLs", 0},
		{"cluster and an external NATS", append([]string{"--db", pg, "--nats-cluster-listen", "0.0.0.0:6222", "--nats-url", "nats://10.0.0.9:4222"}, creds...), "with --nats-url nothing is embedded", 0},
		{"bad node name", []string{"--node-name", "a.b"}, "--node-name (PINGDECK_NODE_NAME)", 0},
		{"bad route", append([]string{"--db", pg, "--nats-cluster-listen", "0.0.0.0:6222", "--nats-routes", "10.0.0.1:6222"}, creds...), "--nats-routes (PINGDECK_NATS_ROUTES)", 0},
		{"three copies alone", []string{"--nats-replicas", "3"}, "3 copies need a cluster", 0},
		{"alone", nil, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseConfig(tc.args, env, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.NATS.Replicas != tc.replicas {
				t.Fatalf("replicas = %d, want %d", cfg.NATS.Replicas, tc.replicas)
			}
			if cfg.NodeName == "" {
				t.Fatal("no default node name")
			}
		})
	}
}

func TestClusterConfigRouteTLS(t *testing.T) {
	ca := bustest.NewCA(t, "pingdeck routes")
	cert, key := ca.Issue(t, "replica")
	strangerCert, strangerKey := bustest.NewCA(t, "another CA").Issue(t, "stranger")
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cluster := []string{"--db", "postgres://u:p@127.0.0.1/db", "--nats-user", "pingdeck", "--nats-password", "a-long-bus-password",
		"--nats-cluster-listen", "0.0.0.0:6222", "--nats-routes", "nats://10.0.0.1:6222,nats://10.0.0.2:6222,nats://10.0.0.3:6222"}
	tlsFlags := func(cert, key, ca string) []string {
		return append(slices.Clone(cluster), "--nats-cluster-tls-cert", cert, "--nats-cluster-tls-key", key, "--nats-cluster-tls-ca", ca)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // "" for none
	}{
		{"all three", tlsFlags(cert, key, ca.File), nil, ""},
		{"all three from the environment", cluster, map[string]string{"PINGDECK_NATS_CLUSTER_TLS_CERT": cert,
			"PINGDECK_NATS_CLUSTER_TLS_KEY": key, "PINGDECK_NATS_CLUSTER_TLS_CA": ca.File}, ""},
		{"no CA", append(slices.Clone(cluster), "--nats-cluster-tls-cert", cert, "--nats-cluster-tls-key", key), nil,
			"--nats-cluster-tls-ca (PINGDECK_NATS_CLUSTER_TLS_CA): --nats-cluster-tls-cert, --nats-cluster-tls-key and --nats-cluster-tls-ca go together"},
		{"no key", append(slices.Clone(cluster), "--nats-cluster-tls-cert", cert, "--nats-cluster-tls-ca", ca.File), nil,
			"--nats-cluster-tls-key (PINGDECK_NATS_CLUSTER_TLS_KEY): --nats-cluster-tls-cert, --nats-cluster-tls-key and --nats-cluster-tls-ca go together"},
		{"without a cluster", []string{"--nats-cluster-tls-cert", cert, "--nats-cluster-tls-key", key, "--nats-cluster-tls-ca", ca.File}, nil,
			"--nats-cluster-tls-cert (PINGDECK_NATS_CLUSTER_TLS_CERT): encrypts the routes between replicas: set --nats-cluster-listen too"},
		{"certificate not PEM", tlsFlags(garbage, key, ca.File), nil, "--nats-cluster-tls-cert (PINGDECK_NATS_CLUSTER_TLS_CERT): " + garbage + ": no PEM certificate"},
		{"key not PEM", tlsFlags(cert, garbage, ca.File), nil, "--nats-cluster-tls-key (PINGDECK_NATS_CLUSTER_TLS_KEY): " + garbage + ":"},
		{"another certificate's key", tlsFlags(cert, strangerKey, ca.File), nil, "--nats-cluster-tls-key (PINGDECK_NATS_CLUSTER_TLS_KEY): " + strangerKey + ": tls: private key does not match"},
		{"CA not PEM", tlsFlags(cert, key, garbage), nil, "--nats-cluster-tls-ca (PINGDECK_NATS_CLUSTER_TLS_CA): " + garbage + ": no PEM certificate"},
		{"CA missing", tlsFlags(cert, key, ca.File+".missing"), nil, "--nats-cluster-tls-ca (PINGDECK_NATS_CLUSTER_TLS_CA): " + ca.File + ".missing: open"},
		{"certificate from another CA", tlsFlags(strangerCert, strangerKey, ca.File), nil,
			"--nats-cluster-tls-cert (PINGDECK_NATS_CLUSTER_TLS_CERT): " + strangerCert + ": not usable with the CA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseConfig(tc.args, func(name string) string { return tc.env[name] }, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.NATS.routeTLS(); got != (bus.RouteTLS{Cert: cert, Key: key, CA: ca.File}) {
				t.Fatalf("route TLS = %+v", got)
			}
		})
	}
}

func TestHostNodeNameIsValid(t *testing.T) {
	cfg, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NodeName != hostNodeName() || cfg.clustered() {
		t.Fatalf("node %q (host %q), clustered %v", cfg.NodeName, hostNodeName(), cfg.clustered())
	}
}

func TestRunWhileHeld(t *testing.T) {
	var held atomic.Bool
	var running atomic.Int32
	starts := atomic.Int32{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		runWhileHeld(ctx, held.Load, func(ctx context.Context) {
			starts.Add(1)
			running.Add(1)
			<-ctx.Done()
			running.Add(-1)
		})
	}()
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s", what)
			}
		}
	}
	time.Sleep(3 * heldCheck)
	if running.Load() != 0 {
		t.Fatal("ran without the lease")
	}
	held.Store(true)
	wait("start with the lease", func() bool { return running.Load() == 1 })
	held.Store(false)
	wait("stop when the lease is lost", func() bool { return running.Load() == 0 })
	held.Store(true)
	wait("start again", func() bool { return running.Load() == 1 && starts.Load() == 2 })
	cancel()
	<-done
	if running.Load() != 0 {
		t.Fatal("still running after ctx ended")
	}
}
