//go:build linux

package main

import (
	"context"
	"time"

	"pingdeck/bench/internal/instance"
	"pingdeck/bench/internal/loopback"
)

// createTargets makes o.n loopback targets in groups of o.perGroup through the API.
func createTargets(ctx context.Context, c *instance.Client, o options, logf func(string, ...any)) ([]instance.Group, error) {
	start := time.Now()
	groups, err := c.CreateLoopbackGroups(ctx, instance.LoopbackGroups{Name: "bench", N: o.n, PerGroup: o.perGroup, Interval: o.interval})
	if err != nil {
		return nil, err
	}
	logf("made %d targets (%s … %s) in %d groups in %s", o.n, loopback.Address(0), loopback.Address(o.n-1),
		len(groups), time.Since(start).Round(time.Millisecond))
	return groups, nil
}
