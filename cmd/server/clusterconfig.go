package main

import (
	"net"
	"os"
	"strings"

	"pingdeck/internal/cluster"
	"pingdeck/internal/store"
)

// clustered says whether this server may be one of several replicas: its embedded
// NATS is clustered with others', or the NATS is external (other replicas may use it).
// Then the local targets are split among the replicas by leases, and housekeeping and
// alert rules run on one replica at a time.
func (c *config) clustered() bool {
	return c.NATS.ClusterListen != "" || len(c.NATS.Routes) > 0 || c.NATS.URL != ""
}

// validateCluster checks the cluster's settings, telling bad about each one at fault.
func (c *config) validateCluster(bad func(name, format string, args ...any)) {
	if !cluster.ValidNode(c.NodeName) {
		bad("node-name", "must be 1-64 of a-z, A-Z, 0-9, - and _, got %q", c.NodeName)
	}
	n := c.NATS
	if n.Replicas != 1 && n.Replicas != 3 {
		bad("nats-replicas", "must be 1 or 3 (0 decides from --nats-routes), got %d", n.Replicas)
	}
	if n.ClusterListen == "" && len(n.Routes) == 0 {
		if n.Replicas == 3 && n.URL == "" {
			bad("nats-replicas", "3 copies need a cluster: --nats-routes naming three servers, or --nats-url of a NATS cluster")
		}
		return
	}
	if n.URL != "" {
		bad("nats-cluster-listen", "clusters the embedded NATS server, and with --nats-url nothing is embedded: give one or the other")
	}
	if n.ClusterListen == "" {
		bad("nats-cluster-listen", "--nats-routes needs this replica's own cluster address too (e.g. 0.0.0.0:6222)")
	} else if _, _, err := net.SplitHostPort(n.ClusterListen); err != nil {
		bad("nats-cluster-listen", "must be host:port (e.g. 0.0.0.0:6222), got %q", n.ClusterListen)
	}
	for _, r := range n.Routes {
		if !strings.HasPrefix(r, "nats://") && !strings.HasPrefix(r, "nats-route://") {
			bad("nats-routes", "%q must look like nats://host:6222", r)
		}
	}
	if n.User == "" || n.Password == "" {
		bad("nats-cluster-listen", "refusing to cluster the bus without credentials: set --nats-user and --nats-password (PINGDECK_NATS_USER, PINGDECK_NATS_PASSWORD), the same on every replica")
	} else if len(n.Password) < minNATSPasswordLen {
		bad("nats-password", "must be at least %d characters when --nats-cluster-listen is set", minNATSPasswordLen)
	}
	if dialect, _, err := store.ParseDSN(c.DB); err == nil && dialect == store.SQLite {
		bad("db", "SQLite is one machine's database and replicas cannot share it: several replicas (--nats-cluster-listen, --nats-routes) need one Postgres, --db postgres://user:pass@host/db")
	}
}

// replicasFor is JetStream's replication for a cluster with these routes: 3 when they
// name three servers or more, else 1.
func replicasFor(routes []string) int {
	seen := map[string]bool{}
	for _, r := range routes {
		seen[strings.TrimSuffix(strings.TrimSpace(r), "/")] = true
	}
	if len(seen) >= 3 {
		return 3
	}
	return 1
}

// hostNodeName is the default --node-name: the host name's first label, with any
// character a node name cannot have made a -.
func hostNodeName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "pingdeck"
	}
	h, _, _ = strings.Cut(h, ".")
	b := []byte(h)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			b[i] = '-'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}
