package main

import (
	"errors"
	"net"
	"os"
	"strings"

	"pingdeck/internal/bus"
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
	n.validateRouteTLS(bad)
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
	} else if len(n.Routes) == 0 {
		bad("nats-routes", "a cluster needs the replicas' route URLs, this one's included (e.g. nats://pd1:6222,nats://pd2:6222,nats://pd3:6222)")
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

// routeTLS is the routes' TLS files, all empty when the routes are plain text.
func (n natsConfig) routeTLS() bus.RouteTLS {
	return bus.RouteTLS{Cert: n.ClusterTLSCert, Key: n.ClusterTLSKey, CA: n.ClusterTLSCA}
}

// validateRouteTLS checks the routes' TLS flags: all three or none, only with
// --nats-cluster-listen, and files that can be used (read and checked now, so that a
// bad one is named at start rather than as routes failing later).
func (n natsConfig) validateRouteTLS(bad func(name, format string, args ...any)) {
	r := n.routeTLS()
	if !r.On() {
		return
	}
	if n.ClusterListen == "" {
		bad("nats-cluster-tls-cert", "encrypts the routes between replicas: set --nats-cluster-listen too")
		return
	}
	for _, f := range []struct{ flag, path string }{
		{"nats-cluster-tls-cert", r.Cert}, {"nats-cluster-tls-key", r.Key}, {"nats-cluster-tls-ca", r.CA},
	} {
		if f.path == "" {
			bad(f.flag, "--nats-cluster-tls-cert, --nats-cluster-tls-key and --nats-cluster-tls-ca go together: give all three or none")
			return
		}
	}
	var fileErr *bus.RouteTLSError
	if err := r.Check(); errors.As(err, &fileErr) {
		bad(routeTLSFlag(fileErr.File), "%s: %v", fileErr.Path, fileErr.Err)
	} else if err != nil {
		bad("nats-cluster-tls-cert", "%v", err)
	}
}

// routeTLSFlag is the flag that gives one of the route TLS files.
func routeTLSFlag(file string) string {
	switch file {
	case bus.RouteTLSKey:
		return "nats-cluster-tls-key"
	case bus.RouteTLSCA:
		return "nats-cluster-tls-ca"
	}
	return "nats-cluster-tls-cert"
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
