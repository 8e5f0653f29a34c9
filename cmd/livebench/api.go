//go:build linux

package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"time"
)

// latency is a p50 / p99 pair in milliseconds.
type latency struct{ P50, P99 float64 }

// apiProbeInterval spaces the API calls: 50 a second, so a 20 s window holds 1,000.
const apiProbeInterval = 20 * time.Millisecond

// probeHTTP calls GET /api/v1/me every apiProbeInterval for d, over one kept-alive
// connection as a browser would, and returns the latencies. It runs in the
// orchestrating process, not the server's: a browser is not scheduled by the
// server's Go runtime.
func probeHTTP(ctx context.Context, base, token string, d time.Duration) latency {
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	var ms []float64
	tick := time.NewTicker(apiProbeInterval)
	defer tick.Stop()
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		<-tick.C
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ms = append(ms, float64(time.Since(start).Microseconds())/1000)
	}
	slices.Sort(ms)
	return latency{P50: quantile(ms, 0.5), P99: quantile(ms, 0.99)}
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}
