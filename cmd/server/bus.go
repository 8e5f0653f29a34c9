package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"pingdeck/internal/bus"
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
	})
	switch {
	case err != nil && cfg.NATS.URL != "":
		return nil, fmt.Errorf("--nats-url (PINGDECK_NATS_URL): %w", err)
	case err != nil && cfg.NATS.Listen != "":
		return nil, fmt.Errorf("--nats-listen (PINGDECK_NATS_LISTEN) %s: %w", cfg.NATS.Listen, err)
	case err != nil:
		return nil, fmt.Errorf("bus (embedded NATS, store %s under --data-dir): %w", storeDir, err)
	}
	switch addr := b.ListenAddr(); {
	case cfg.NATS.URL != "":
		log.Info("bus: external NATS", "url", b.Conn().ConnectedUrlRedacted())
	case addr != nil:
		log.Info("bus: embedded NATS listening for agents and replicas", "addr", addr.String(),
			"tls", cfg.NATS.TLSCert != "", "store", storeDir)
	default:
		log.Info("bus: embedded NATS, in-process only (no port)", "store", storeDir)
	}
	return b, nil
}
