//go:build linux

package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/bus"
	"pingdeck/internal/live"
	"pingdeck/internal/ping"
)

// The ways the server process's synthetic results can reach the hub (-path).
const (
	// pathBus is the server's own: an embedded NATS bus, the prober's result
	// publisher (per-group batches every 25 ms), the JetStream result stream, and the
	// hub's feed following the groups its sockets follow (cmd/server/app.go).
	pathBus = "bus"
	// pathDirect hands results to hub.Publish in the publishing goroutine: the hub
	// alone, to show what the bus adds.
	pathDirect = "direct"
)

// parsePaths reads -path: a comma-separated list of pathBus and pathDirect.
func parsePaths(s string) ([]string, error) {
	var paths []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p != pathBus && p != pathDirect {
			return nil, fmt.Errorf("-path: %q is not %s or %s", p, pathBus, pathDirect)
		}
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// Limits of the bench's result stream. Nothing consumes it (there is no database
// writer in the bench), so it only grows: about 0.2 MB/s at the default 2,000
// results/s, far below both limits for a run of a few minutes.
const (
	benchStreamMaxBytes = 1 << 30
	benchStreamMaxAge   = 10 * time.Minute
	// benchFeedBuffer is the server's liveFeedBuffer (cmd/server/bus.go).
	benchFeedBuffer = 8192
)

// resultRoute carries the synthetic results to the hub by one path and counts them
// on both ends, so a path that loses results shows it.
type resultRoute struct {
	path      string
	submitted atomic.Int64 // results handed to the route
	delivered atomic.Int64 // results handed to hub.Publish

	// The bus path's parts; nil on the direct path.
	bus       *bus.Bus
	publisher *bus.ResultPublisher
	feed      *bus.ResultFeed
}

// openRoute prepares path. For pathBus it starts an embedded NATS bus storing under
// dir, with the result stream and the publisher and feed the server would make;
// Close stops it.
func openRoute(ctx context.Context, path, dir string, reg prometheus.Registerer, log *slog.Logger) (*resultRoute, error) {
	r := &resultRoute{path: path}
	if path == pathDirect {
		return r, nil
	}
	b, err := bus.Open(bus.Config{StoreDir: filepath.Join(dir, "bus"), Name: "livebench-server", Logger: log})
	if err != nil {
		return nil, fmt.Errorf("bus: %w", err)
	}
	r.bus = b
	setup, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Publishes are acked only by a stream that takes their subject.
	if _, _, err := b.OpenResults(setup, bus.StreamLimits{MaxBytes: benchStreamMaxBytes, MaxAge: benchStreamMaxAge}); err != nil {
		b.Close()
		return nil, err
	}
	if r.publisher, err = b.NewResultPublisher(bus.PublisherOptions{Metrics: bus.NewResultMetrics(reg), Logger: log}); err != nil {
		b.Close()
		return nil, err
	}
	r.feed = b.NewResultFeed(benchFeedBuffer)
	return r, nil
}

// hubFeed is what the hub is told to follow groups with: nil on the direct path, where
// the hub keeps everything published.
func (r *resultRoute) hubFeed() live.Feed {
	if r.feed == nil {
		return nil // a nil *bus.ResultFeed in the interface would not be nil
	}
	return r.feed
}

// resultSink is where a route delivers: the hub.
type resultSink interface {
	Publish(rs ...ping.Result)
}

var _ resultSink = (*live.Hub)(nil)

// submit hands one result to the route, as the prober hands it to its publisher; the
// direct path delivers it to hub at once.
func (r *resultRoute) submit(hub resultSink, res ping.Result) {
	r.submitted.Add(1)
	if r.publisher != nil {
		r.publisher.Submit(res)
		return
	}
	r.delivered.Add(1)
	hub.Publish(res)
}

// runPublisher publishes submitted results until ctx ends (the bus path's publisher
// loop; nothing on the direct path).
func (r *resultRoute) runPublisher(ctx context.Context) {
	if r.publisher != nil {
		r.publisher.Run(ctx)
	}
}

// runFeed delivers to hub what the bus brings of the groups it follows, until ctx
// ends (the bus path's feed loop; nothing on the direct path).
func (r *resultRoute) runFeed(ctx context.Context, hub resultSink) {
	if r.feed == nil {
		return
	}
	r.feed.Run(ctx, func(rs []ping.Result) {
		r.delivered.Add(int64(len(rs)))
		hub.Publish(rs...)
	})
}

// Close stops the bus, if any; the publisher and hub must have stopped.
func (r *resultRoute) Close() error {
	if r.bus == nil {
		return nil
	}
	return r.bus.Close()
}
