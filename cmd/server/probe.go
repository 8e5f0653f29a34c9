package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/bus"
	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/ping/shared"
)

// prober is the probe path: engine and scheduler, whose results go to the bus through
// publisher, and whether it runs.
type prober struct {
	scheduler *ping.Scheduler
	publisher *bus.ResultPublisher
	running   atomic.Bool
	failure   error // why probing is off, when it is
}

// newProber picks the engine (saying which and in what ICMP mode) and wires it to the
// bus. When no ICMP socket can be had, the server still starts; the prober reports
// what to change and /readyz fails.
func newProber(cfg *config, source ping.Source, publisher *bus.ResultPublisher, reg prometheus.Registerer, log *slog.Logger) *prober {
	p := &prober{publisher: publisher}
	engine, err := newEngine(cfg.PingEngine, cfg.ICMPMode, ping.NewMetrics(reg), log)
	if err != nil {
		p.failure = err
		log.Error("probing is OFF", "err", err)
		return p
	}
	log.Info("probe engine ready", "engine", engine.Name(), "icmp_mode", modeOf(engine))
	resolver := ping.NewResolver(groups.TargetPolicy{Allow: cfg.AllowTargets, Deny: cfg.DenyTargets}, nil)
	// The server probes the groups probed from its own location (those that name none
	// included; in a cluster, the targets of its shards); agents probe the others.
	p.scheduler = ping.NewScheduler(source, engine, resolver, log, publisher.Submit)
	return p
}

// newEngine builds the engine asked for; auto prefers the shared engine (one socket,
// kernel timestamps) and falls back to pro-bing where it cannot run.
func newEngine(name string, mode ping.Mode, m *ping.Metrics, log *slog.Logger) (ping.Engine, error) {
	switch name {
	case "probing":
		return ping.NewProbing(mode, m, log)
	case "shared":
		return shared.New(shared.Options{Mode: mode, Metrics: m, Logger: log})
	}
	shared, err := shared.New(shared.Options{Mode: mode, Metrics: m, Logger: log})
	if err == nil {
		return shared, nil
	}
	if errors.Is(err, ping.ErrNoICMP) {
		return nil, err // pro-bing would need the same permission
	}
	log.Warn("the shared engine is not available here; using pro-bing", "err", err)
	return ping.NewProbing(mode, m, log)
}

func modeOf(e ping.Engine) ping.Mode {
	if m, ok := e.(interface{ Mode() ping.Mode }); ok {
		return m.Mode()
	}
	return ""
}

// ready reports why probing is not running, if it is not.
func (p *prober) ready() error {
	switch {
	case p.failure != nil:
		return p.failure
	case !p.running.Load():
		return errors.New("probe engine not running")
	}
	return nil
}

// run probes until ctx ends; then the publisher sends what the last probes reported.
func (p *prober) run(ctx context.Context, log *slog.Logger) {
	publishing, stopPublishing := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { p.publisher.Run(publishing) })
	defer func() {
		stopPublishing()
		wg.Wait()
	}()
	if p.scheduler == nil {
		<-ctx.Done()
		return
	}
	p.running.Store(true)
	defer p.running.Store(false)
	if err := p.scheduler.Run(ctx); err != nil && ctx.Err() == nil {
		log.Error("probing stopped", "err", fmt.Errorf("%w", err))
	}
}
