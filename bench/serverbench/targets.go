//go:build linux

package main

import (
	"context"
	"fmt"
	"time"
)

// Targets are loopback addresses from 127.64.0.1 on, 254 to a /24 (no .0 or .255),
// so that N of them are N distinct addresses as the server and the kernel see them.
const (
	firstLoopbackNet   = 64
	hostsPerNet        = 254
	maxLoopbackTargets = (256 - firstLoopbackNet) * 256 * hostsPerNet
)

// loopbackAddress is the i-th target's address (0 ≤ i < maxLoopbackTargets).
func loopbackAddress(i int) string {
	net := i / hostsPerNet // a /24 among 127.64.0.0 … 127.255.255.0
	return fmt.Sprintf("127.%d.%d.%d", firstLoopbackNet+net/256, net%256, 1+i%hostsPerNet)
}

// createTargets makes o.n targets in groups of o.perGroup through the API.
func createTargets(ctx context.Context, c *apiClient, o options, logf func(string, ...any)) ([]benchGroup, error) {
	var groups []benchGroup
	start := time.Now()
	for first := 0; first < o.n; first += o.perGroup {
		addrs := make([]string, min(o.perGroup, o.n-first))
		for i := range addrs {
			addrs[i] = loopbackAddress(first + i)
		}
		g, err := c.createGroup(ctx, fmt.Sprintf("bench %d", len(groups)+1), o.interval, addrs)
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}
	logf("made %d targets (%s … %s) in %d groups in %s", o.n, loopbackAddress(0), loopbackAddress(o.n-1),
		len(groups), time.Since(start).Round(time.Millisecond))
	return groups, nil
}
