package bus

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/crypto/bcrypt"
)

// startTimeout bounds how long the embedded server may take to start (JetStream
// recovers its store in this time).
const startTimeout = 30 * time.Second

// errStoreUnusable marks a start that failed because JetStream could not open its store.
var errStoreUnusable = errors.New("JetStream could not open its store")

// startEmbedded runs a NATS server with JetStream in this process. A store JetStream
// cannot open at all is moved aside (kept for inspection) and the server started on an
// empty one, with an error logged: a damaged bus store must not stop pingdeck from
// starting, again and again. Damage inside a store that opens (a truncated or garbled
// message file) is repaired or skipped by JetStream itself, which logs what it lost.
func startEmbedded(cfg Config) (*server.Server, *server.Options, error) {
	opts, err := embeddedOptions(cfg)
	if err != nil {
		return nil, nil, err
	}
	base := opts.Clone() // as given: reloads start from it (the server changes what it is given)
	srv, err := tryStart(opts, cfg)
	if !errors.Is(err, errStoreUnusable) {
		return srv, base, err
	}
	aside := fmt.Sprintf("%s.unusable-%s", cfg.StoreDir, time.Now().UTC().Format("20060102T150405Z"))
	if rerr := os.Rename(cfg.StoreDir, aside); rerr != nil {
		return nil, nil, fmt.Errorf("bus store %s: %w; moving it aside failed too: %w", cfg.StoreDir, err, rerr)
	}
	cfg.Logger.Error("bus: the JetStream store could not be opened; moved it aside and started with an empty one",
		"store", cfg.StoreDir, "moved_to", aside, "err", err)
	srv, err = tryStart(base.Clone(), cfg)
	return srv, base, err
}

// tryStart starts a server with opts and waits until it takes connections with
// JetStream on.
func tryStart(opts *server.Options, cfg Config) (*server.Server, error) {
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %w", err)
	}
	logs := &serverLog{log: cfg.Logger}
	srv.SetLoggerV2(logs, false, false, false)
	srv.Start()
	fail := func(err error) (*server.Server, error) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, err
	}
	for deadline := time.Now().Add(startTimeout); !srv.ReadyForConnections(100 * time.Millisecond); {
		if msg := logs.fatal(); msg != "" {
			if strings.Contains(msg, "JetStream") {
				return fail(fmt.Errorf("%w: %s", errStoreUnusable, msg))
			}
			if !opts.DontListen {
				return fail(fmt.Errorf("embedded NATS server on %s: %s", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)), msg))
			}
			return fail(fmt.Errorf("embedded NATS server: %s", msg))
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("embedded NATS server not ready in %s", startTimeout))
		}
	}
	if !srv.JetStreamEnabled() {
		msg := logs.fatal()
		if msg == "" {
			msg = "JetStream is off"
		}
		return fail(fmt.Errorf("%w: %s", errStoreUnusable, msg))
	}
	if n := logs.problems(); n > 0 {
		cfg.Logger.Warn("bus: the JetStream store was damaged; JetStream skipped or repaired what it could not read (the nats: lines above say what)",
			"store", cfg.StoreDir, "problems", n)
	}
	return srv, nil
}

// embeddedOptions are the server's options: JetStream in cfg.StoreDir; no port unless
// cfg.Listen, and then user and password required of every client, TLS if given.
func embeddedOptions(cfg Config) (*server.Options, error) {
	opts := &server.Options{
		ServerName:             "pingdeck",
		JetStream:              true,
		StoreDir:               cfg.StoreDir,
		DisableJetStreamBanner: true,
		NoSigs:                 true, // pingdeck handles signals and stops the server in order
		DontListen:             cfg.Listen == "",
	}
	if cfg.Cluster.clustered() {
		if err := clusterOptions(opts, cfg); err != nil {
			return nil, err
		}
		if cfg.Listen == "" {
			// NATS starts its routes only once the client listener is up: a clustered
			// server takes clients on a free loopback port (credentials required).
			cfg.Listen = "127.0.0.1:0"
			opts.DontListen = false
		}
	}
	if cfg.Listen == "" {
		return opts, nil
	}
	if cfg.User == "" || cfg.Password == "" {
		return nil, errors.New("refusing to open the bus to the network without credentials: give a user and a password")
	}
	host, p, err := splitListen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	opts.Host, opts.Port = host, p
	// A users list rather than a single user, so that agents' nkeys can join it; the
	// password as a bcrypt hash, so the server holds no plain text. The hash lives in
	// memory only, and every connection (pingdeck's own in-process one included) pays
	// for checking it, so it uses bcrypt's lowest cost: at the default cost a loaded
	// box took seconds per connection.
	hash, err := bcrypt.GenerateFromPassword([]byte(cfg.Password), bcrypt.MinCost)
	if err != nil {
		return nil, fmt.Errorf("hashing the bus password: %w", err)
	}
	opts.Users = []*server.User{{Username: cfg.User, Password: string(hash)}}
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("TLS certificate and key: %w", err)
		}
		opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		opts.TLS = true
		opts.TLSTimeout = 2
	}
	return opts, nil
}

// splitListen reads a host:port listen address; port 0 picks a free one.
func splitListen(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("listen address %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("listen address %q: port must be 0..65535", addr)
	}
	if p == 0 {
		p = server.RANDOM_PORT // NATS reads 0 as its default port
	}
	return host, p, nil
}

// clusterName is the NATS cluster every pingdeck replica's embedded server joins.
const clusterName = "pingdeck"

// clusterOptions clusters the embedded server with the other replicas': it listens
// for routes on cfg.Cluster.Listen (the user and password required of each), connects
// to cfg.Cluster.Routes with them, and names itself cfg.Cluster.NodeName (JetStream's
// cluster needs a unique name per server). With cfg.Cluster.TLS the routes are mutual
// TLS.
func clusterOptions(opts *server.Options, cfg Config) error {
	c := cfg.Cluster
	if c.NodeName == "" || !validToken(c.NodeName) {
		return fmt.Errorf("cluster: node name %q must be one token (no dots, spaces or wildcards)", c.NodeName)
	}
	if cfg.User == "" || cfg.Password == "" {
		return errors.New("refusing to cluster the bus without credentials: give a user and a password")
	}
	if c.Listen == "" {
		return errors.New("cluster: routes need a cluster listen address of this server too")
	}
	host, p, err := splitListen(c.Listen)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	opts.ServerName = c.NodeName
	opts.Cluster = server.ClusterOpts{Name: clusterName, Host: host, Port: p,
		Username: cfg.User, Password: cfg.Password, AuthTimeout: 2, ConnectRetries: 0}
	if c.TLS.On() {
		if err := routeTLSOptions(&opts.Cluster, c.TLS); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	for _, r := range c.Routes {
		u, err := url.Parse(strings.TrimSpace(r))
		if err != nil || u.Host == "" {
			return fmt.Errorf("cluster: route %q is not a URL like nats://host:6222", r)
		}
		if u.User == nil {
			u.User = url.UserPassword(cfg.User, cfg.Password)
		}
		opts.Routes = append(opts.Routes, u)
	}
	return nil
}
