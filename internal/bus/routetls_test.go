package bus

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"pingdeck/internal/bus/bustest"
)

// routeFiles is a route certificate for name that ca signs, with ca as the CA.
func routeFiles(t *testing.T, ca *bustest.CA, name string, uses ...x509.ExtKeyUsage) RouteTLS {
	t.Helper()
	cert, key := ca.Issue(t, name, uses...)
	return RouteTLS{Cert: cert, Key: key, CA: ca.File}
}

// TestClusterRouteTLS: three servers with route certificates from one CA form a
// cluster (an R3 stream, messages across); a fourth whose certificate another CA signed
// is refused by every one of them, though it knows the routes' password.
func TestClusterRouteTLS(t *testing.T) {
	ca := bustest.NewCA(t, "pingdeck routes")
	buses, logs := openClusterTLS(t, []RouteTLS{routeFiles(t, ca, "node0"), routeFiles(t, ca, "node1"), routeFiles(t, ca, "node2")})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The route port speaks TLS only: the server says nothing until a handshake with a
	// certificate from the CA, then its INFO (with the routes' credentials to follow).
	for i, b := range buses {
		if first := routeGreeting(t, b.server.ClusterAddr().String(), ca); !strings.HasPrefix(first, "INFO ") {
			t.Fatalf("node%d: route port said %q after the TLS handshake, want INFO", i, first)
		}
	}

	// JetStream's three copies: a message stored through node1 is in node2's view of
	// the stream, every replica current.
	_, err := buses[0].JetStream().CreateStream(ctx, jetstream.StreamConfig{Name: "ROUTETLS", Subjects: []string{"routetls.>"},
		Replicas: 3, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatalf("R3 stream: %v", err)
	}
	if _, err := buses[1].JetStream().Publish(ctx, "routetls.a", []byte("stored")); err != nil {
		t.Fatalf("publish through node1: %v", err)
	}
	s, err := buses[2].JetStream().Stream(ctx, "ROUTETLS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("node2 sees %d messages, cluster %+v; want 1 message in 3 copies", info.State.Msgs, info.Cluster)
	}

	// A plain message published on node0 reaches a subscriber on node2.
	got := make(chan *nats.Msg, 16)
	sub, err := buses[2].Conn().ChanSubscribe("routetls.plain", got)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := buses[2].Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	reached := false
	for deadline := time.Now().Add(10 * time.Second); !reached && time.Now().Before(deadline); {
		// Routes carry interest asynchronously: publish until node0 has it.
		if err := buses[0].Conn().Publish("routetls.plain", []byte("hello")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
			reached = true
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !reached {
		t.Fatal("a message published on node0 did not reach node2's subscriber")
	}

	// The intruder: right password, trusts the cluster's CA, but its own certificate is
	// another CA's. Each of the three refuses its route, saying so as a warning.
	intruder := startIntruder(t, buses, routeFiles(t, bustest.NewCA(t, "another CA"), "intruder"), ca.File)
	for i, l := range logs {
		waitForLog(t, l, "certificate signed by unknown authority", 20*time.Second)
		if line := logLine(l.String(), "certificate signed by unknown authority"); !strings.Contains(line, "level=WARN") {
			t.Errorf("node%d logged the refused route as %q, want a warning", i, line)
		}
	}
	for i, b := range buses {
		rz, err := b.server.Routez(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rz.Routes {
			if r.RemoteName == "intruder" || r.RemoteID == intruder.ID() {
				t.Fatalf("node%d has a route to the intruder: %+v", i, r)
			}
		}
		if rz.NumRoutes == 0 {
			t.Fatalf("node%d lost its routes", i)
		}
	}
	if n := intruder.NumRoutes(); n != 0 {
		t.Fatalf("the intruder has %d routes", n)
	}
}

// routeGreeting does a TLS handshake with a route port as a server with a
// certificate from ca would, and returns the first line the port sends.
func routeGreeting(t *testing.T, addr string, ca *bustest.CA) string {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(ca.Issue(t, "greeting"))
	if err != nil {
		t.Fatal(err)
	}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second},
		Config: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}}
	conn, err := dialer.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("TLS to the route port %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the route port %s: %v", addr, err)
	}
	return line
}

// startIntruder starts a NATS server that dials the buses' routes with their user and
// password over TLS, showing mine (trusting trustedCA for the others' certificates).
func startIntruder(t *testing.T, buses []*Bus, mine RouteTLS, trustedCA string) *server.Server {
	t.Helper()
	cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: mine.Cert, KeyFile: mine.Key, CaFile: trustedCA, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg.RootCAs = cfg.ClientCAs
	// Go's TLS client holds back a certificate the server's CAs did not issue; a peer
	// set on joining shows it anyway, for the servers to check.
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cfg.Certificates[0], nil }
	opts := &server.Options{ServerName: "intruder", Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		Cluster: server.ClusterOpts{Name: clusterName, Host: "127.0.0.1", Port: server.RANDOM_PORT,
			Username: "pingdeck", Password: "a-long-bus-password", TLSConfig: cfg, TLSTimeout: 2}}
	for _, b := range buses {
		opts.Routes = append(opts.Routes, &url.URL{Scheme: "nats", Host: b.server.ClusterAddr().String(),
			User: url.UserPassword("pingdeck", "a-long-bus-password")})
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("intruder server not ready")
	}
	return srv
}

// waitForLog waits until l holds want.
func waitForLog(t *testing.T, l *logBuffer, want string, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); !strings.Contains(l.String(), want); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log in %s:\n%s", want, limit, l)
		}
	}
}

// logLine is the first line of log holding s.
func logLine(log, s string) string {
	for line := range strings.Lines(log) {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

func TestRouteTLSCheckNamesTheFileAtFault(t *testing.T) {
	ca := bustest.NewCA(t, "pingdeck routes")
	good := routeFiles(t, ca, "node0")
	other := routeFiles(t, bustest.NewCA(t, "another CA"), "stranger")
	serverOnly := routeFiles(t, ca, "server-only", x509.ExtKeyUsageServerAuth)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a PEM file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		files    RouteTLS
		wantFile string // "" for no error
		wantErr  string
	}{
		{"good", good, "", ""},
		{"certificate not PEM", RouteTLS{garbage, good.Key, good.CA}, RouteTLSCert, "no PEM certificate"},
		{"certificate missing", RouteTLS{good.Cert + ".missing", good.Key, good.CA}, RouteTLSCert, "no such file"},
		{"key not PEM", RouteTLS{good.Cert, garbage, good.CA}, RouteTLSKey, "PEM"},
		{"another certificate's key", RouteTLS{good.Cert, other.Key, good.CA}, RouteTLSKey, "does not match"},
		{"CA not PEM", RouteTLS{good.Cert, good.Key, garbage}, RouteTLSCA, "no PEM certificate"},
		{"certificate from another CA", RouteTLS{other.Cert, other.Key, good.CA}, RouteTLSCert, "unknown authority"},
		{"certificate for servers only", serverOnly, RouteTLSCert, "client authentication"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.files.Check()
			if tc.wantFile == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fileErr *RouteTLSError
			if !errors.As(err, &fileErr) || fileErr.File != tc.wantFile || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one about the %s saying %q", err, tc.wantFile, tc.wantErr)
			}
		})
	}
	if err := (RouteTLS{Cert: good.Cert, Key: good.Key}).Check(); err == nil || !strings.Contains(err.Error(), "all three") {
		t.Fatalf("no CA: %v", err)
	}
	b, err := Open(Config{StoreDir: filepath.Join(t.TempDir(), "bus"), User: "u", Password: "p",
		Cluster: ClusterConfig{Listen: "127.0.0.1:0", NodeName: "a", TLS: RouteTLS{Cert: good.Cert, Key: good.Key}}})
	if err == nil {
		b.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "all three") {
		t.Fatalf("Open with two of the three files: %v", err)
	}
}
