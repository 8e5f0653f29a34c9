//go:build linux

package main

import (
	"errors"
	"fmt"
	"log/slog"

	"pingdeck/internal/ping"
	"pingdeck/internal/ping/shared"
)

// Engine names, in the order the table lists them. fping is not an in-process
// engine: pingbench runs the fping binary (fping.go).
const (
	engineProbing = "probing"
	engineShared  = "shared"
	engineFping   = "fping"
)

// errEngineNotBuilt says that an engine pingbench knows is not compiled into this
// binary; its cells are reported as "not built" instead of failing the run.
var errEngineNotBuilt = errors.New("not built")

// newEngine constructs the named in-process engine with unregistered metrics (the
// server always has them, so their cost belongs in the measurement) and returns the
// ICMP mode it obtained.
//
// This is the one place engines are registered.
func newEngine(name string, mode ping.Mode, log *slog.Logger) (ping.Engine, ping.Mode, error) {
	metrics := ping.NewMetrics(nil)
	switch name {
	case engineProbing:
		e, err := ping.NewProbing(mode, metrics, log)
		if err != nil {
			return nil, "", fmt.Errorf("engine %s: %w", name, err)
		}
		return e, e.Mode(), nil
	case engineShared:
		// The shared-socket engine, internal/ping/shared*.go. Should it ever be
		// missing from a build, make this case `return nil, "", errEngineNotBuilt`.
		e, err := shared.New(shared.Options{Mode: mode, Metrics: metrics, Logger: log})
		if err != nil {
			return nil, "", fmt.Errorf("engine %s: %w", name, err)
		}
		return e, e.Mode(), nil
	}
	return nil, "", fmt.Errorf("engine %q: unknown (want %s or %s)", name, engineProbing, engineShared)
}
