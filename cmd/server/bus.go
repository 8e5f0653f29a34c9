package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/bus"
	"pingdeck/internal/ingest"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// openBus starts the channel layer the configuration asks for: NATS embedded (default,
// no port), embedded and listening (--nats-listen), or external (--nats-url). Errors
// name the setting at fault.
func openBus(cfg *config, log *slog.Logger) (*bus.Bus, error) {
	storeDir := filepath.Join(cfg.DataDir, "bus")
	b, err := bus.Open(bus.Config{
		URL: cfg.NATS.URL, StoreDir: storeDir, Listen: cfg.NATS.Listen,
		User: cfg.NATS.User, Password: cfg.NATS.Password,
		TLSCert: cfg.NATS.TLSCert, TLSKey: cfg.NATS.TLSKey,
		Name: "pingdeck-server", Logger: log,
		Cluster: bus.ClusterConfig{Listen: cfg.NATS.ClusterListen, Routes: cfg.NATS.Routes,
			NodeName: cfg.NodeName, Replicas: cfg.NATS.Replicas, TLS: cfg.NATS.routeTLS()},
	})
	switch {
	case err != nil && cfg.NATS.URL != "":
		return nil, fmt.Errorf("--nats-url (PINGDECK_NATS_URL): %w", err)
	case err != nil && cfg.NATS.ClusterListen != "":
		return nil, fmt.Errorf("--nats-cluster-listen (PINGDECK_NATS_CLUSTER_LISTEN) %s: %w", cfg.NATS.ClusterListen, err)
	case err != nil && cfg.NATS.Listen != "":
		return nil, fmt.Errorf("--nats-listen (PINGDECK_NATS_LISTEN) %s: %w", cfg.NATS.Listen, err)
	case err != nil:
		return nil, fmt.Errorf("bus (embedded NATS, store %s under --data-dir): %w", storeDir, err)
	}
	switch addr := b.ListenAddr(); {
	case cfg.NATS.URL != "":
		log.Info("bus: external NATS", "url", b.Conn().ConnectedUrlRedacted())
	case cfg.NATS.ClusterListen != "":
		log.Info("bus: embedded NATS clustered with the other replicas", "node", cfg.NodeName, "cluster", cfg.NATS.ClusterListen,
			"routes", len(cfg.NATS.Routes), "routes_tls", cfg.NATS.routeTLS().On(), "jetstream_replicas", b.Replicas(), "client_addr", addr, "store", storeDir)
	case addr != nil:
		log.Info("bus: embedded NATS listening for agents and replicas", "addr", addr.String(),
			"tls", cfg.NATS.TLSCert != "", "store", storeDir)
	default:
		log.Info("bus: embedded NATS, in-process only (no port)", "store", storeDir)
	}
	return b, nil
}

// liveFeedBuffer is how many result messages may wait for the live hub; past it NATS
// drops them from the live stream (never from storage) and logs a slow consumer.
const liveFeedBuffer = 8192

// heldResultBytes is about what a result held by the writer costs in memory.
const heldResultBytes = 40

// newResultWriter sets up the result stream with the configured limits, the writers'
// durable consumer on it, and the writer that stores what it delivers.
func newResultWriter(ctx context.Context, cfg *config, b *bus.Bus, st *store.Store, admit func(location, group string, rs []ping.Result) ([]ping.Result, string), m *bus.ResultMetrics, reg prometheus.Registerer, log *slog.Logger) (*ingest.Writer, error) {
	// Not cut short by a signal during start: start completes, then shuts down in order.
	// A replica of a cluster may wait here for the others (JetStream needs a quorum).
	setup, cancel := context.WithTimeout(context.WithoutCancel(ctx), setupTimeout(cfg))
	defer cancel()
	stream, cons, err := b.OpenResults(setup, bus.StreamLimits{MaxBytes: cfg.NATS.MaxMB << 20, MaxAge: cfg.NATS.MaxAge,
		SoleWriter: !cfg.clustered()}) // in a cluster the writer's lease holder reclaims them (writeWhileHeld)
	if err != nil {
		return nil, err
	}
	bus.RegisterStreamGauges(reg, stream)
	bus.RegisterWriterGauges(reg, cons)
	if info, err := stream.Info(setup); err == nil && info.State.Msgs > 0 {
		log.Info("probe results from an earlier run wait on the bus; storing them first", "batches", info.State.Msgs, "bytes", info.State.Bytes)
	}
	return ingest.New(st, cons, ingest.Options{HoldResults: cfg.HoldMB << 20 / heldResultBytes, Admit: admit, Metrics: m,
		Registry: reg, Logger: log, SourceTTL: cfg.NATS.MaxAge + time.Hour}), nil
}

// setupTimeout bounds making the bus's streams and buckets at start: longer in a
// cluster, where JetStream waits for a quorum of the replicas to be up.
func setupTimeout(cfg *config) time.Duration {
	if cfg.clustered() {
		return 3 * time.Minute
	}
	return 30 * time.Second
}
