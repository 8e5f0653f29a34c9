// Package bus is pingdeck's channel layer (DESIGN §9): a NATS connection that every
// change (and, in a later step, every result) passes through, so whoever changes or
// probes and whoever watches need not be the same process.
//
// By default the NATS server (with JetStream) runs inside pingdeck and is reached by an
// in-process connection, with no port opened: `go run ./cmd/server` needs nothing
// installed. Config.Listen opens that embedded server to agents and replicas, with
// credentials required; Config.URL connects to an external NATS instead.
package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config says which NATS to use and how.
type Config struct {
	// URL is an external NATS (nats://host:4222, comma-separated for a cluster). Empty
	// embeds a server.
	URL string
	// StoreDir is the embedded server's JetStream store (<data-dir>/bus).
	StoreDir string
	// Listen (host:port) opens the embedded server to the network; empty opens no port.
	Listen string
	// User and Password are required of every client of a listening embedded server
	// (pingdeck's own in-process connection included), and are used to connect to URL.
	User, Password string
	// TLSCert and TLSKey (PEM files) make the listener TLS-only.
	TLSCert, TLSKey string
	// Name is the connection's name as NATS monitoring shows it.
	Name   string
	Logger *slog.Logger
	// Cluster joins the embedded server to other replicas' (DESIGN §9): routes between
	// them, JetStream clustered. Zero: a server of its own.
	Cluster ClusterConfig
}

// ClusterConfig clusters the embedded NATS servers of several replicas.
type ClusterConfig struct {
	// Listen (host:port) is where the other replicas' servers connect (routes).
	Listen string
	// Routes are the cluster addresses of the replicas (nats://host:6222), this one's
	// may be among them. User and Password of Config guard them.
	Routes []string
	// NodeName names this server in the cluster (unique per replica).
	NodeName string
	// Replicas is how many copies JetStream keeps of each stream and bucket (1 or 3).
	Replicas int
	// TLS, when on, makes the routes mutual TLS; off, they are plain text.
	TLS RouteTLS
}

// clustered says whether cfg asks for a clustered embedded server.
func (c ClusterConfig) clustered() bool { return c.Listen != "" || len(c.Routes) > 0 }

// Bus is a connection to NATS and, when embedded, the server it connects to.
type Bus struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	server *server.Server // nil for an external NATS
	log    *slog.Logger
	url    string // what was connected to, for messages
	// listening: the embedded server takes network clients (Config.Listen).
	listening bool
	baseOpts  *server.Options // what the embedded server was started with, for reloads
	agentsMu  sync.Mutex      // one reload of the agents' credentials at a time
	// replicas is how many copies JetStream keeps of what pingdeck creates.
	replicas int
	// jsSilentSince is when an external NATS's JetStream first did not answer Ready
	// since it last did (unix ns; 0: it answers).
	jsSilentSince atomic.Int64
}

// connectTimeout bounds the first connection; afterwards the connection reconnects
// forever and Ready says it is down meanwhile.
const connectTimeout = 10 * time.Second

// Open starts the embedded server (unless cfg.URL is set) and connects to it.
func Open(cfg Config) (*Bus, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bus{log: cfg.Logger, replicas: max(1, cfg.Cluster.Replicas)}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.Timeout(connectTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DrainTimeout(drainTimeout),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err == nil || nc.IsClosed() {
				return // closed on purpose (shutdown), not lost
			}
			b.log.Warn("bus: connection to NATS lost; reconnecting", "url", b.url, "err", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) { b.log.Info("bus: reconnected to NATS", "url", b.url) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			b.log.Warn("bus: NATS error", "subject", subject, "err", err)
		}),
	}
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.URL != "" {
		b.url = cfg.URL
		nc, err := nats.Connect(cfg.URL, opts...)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", cfg.URL, err)
		}
		b.nc = nc
		if err := b.useJetStream(); err != nil {
			return nil, err
		}
		return b, nil
	}
	srv, base, err := startEmbedded(cfg)
	if err != nil {
		return nil, err
	}
	b.server, b.url, b.listening, b.baseOpts = srv, "embedded", cfg.Listen != "", base
	nc, err := nats.Connect("", append(opts, nats.InProcessServer(srv))...)
	if err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("connect to the embedded NATS server: %w", err)
	}
	b.nc = nc
	if err := b.useJetStream(); err != nil {
		return nil, err
	}
	return b, nil
}

// useJetStream makes the JetStream context of b's connection.
func (b *Bus) useJetStream() error {
	js, err := jetstream.New(b.nc)
	if err != nil {
		b.Close()
		return fmt.Errorf("JetStream: %w", err)
	}
	b.js = js
	return nil
}

// Replicas is how many copies JetStream keeps of the streams and buckets pingdeck
// creates: 3 in a cluster of three or more, else 1.
func (b *Bus) Replicas() int { return b.replicas }

// JetStream is the bus's JetStream context.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Conn is the bus's NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// ListenAddr is where the embedded server takes network clients, or nil when it takes
// none (the default) or NATS is external.
func (b *Bus) ListenAddr() net.Addr {
	if !b.listening {
		return nil
	}
	return b.server.Addr()
}

// Ready says why the bus cannot carry messages now, if it cannot.
func (b *Bus) Ready() error {
	if b.server != nil && !b.server.Running() {
		return errors.New("the embedded NATS server stopped")
	}
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("not connected to NATS (%s): %s", b.url, st)
	}
	return b.clusterReady()
}

// Close drains the connection (messages already published are delivered, bounded by
// drainTimeout) and stops the embedded server.
func (b *Bus) Close() error {
	var err error
	// Drain only a live connection: one that is reconnecting has nothing to deliver to.
	if b.nc != nil && b.nc.Status() == nats.CONNECTED {
		done := make(chan struct{})
		b.nc.SetClosedHandler(func(*nats.Conn) { close(done) })
		switch err = b.nc.Drain(); {
		case errors.Is(err, nats.ErrConnectionReconnecting):
			err = nil // lost meanwhile: nothing can be delivered
		case err == nil:
			select {
			case <-done:
			case <-time.After(drainTimeout):
				err = fmt.Errorf("bus: drain did not finish in %s", drainTimeout)
			}
		}
	}
	if b.nc != nil {
		b.nc.Close()
	}
	if b.server != nil {
		b.server.Shutdown()
		b.server.WaitForShutdown()
	}
	return err
}

const drainTimeout = 5 * time.Second
