//go:build linux

package main

import (
	"context"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// latency is a p50 / p99 pair in milliseconds, with the share of the machine's CPU
// time the hypervisor took meanwhile (steal, %): on a shared host that, not the
// server, is often what a millisecond tail is made of.
type latency struct{ P50, P99, Steal float64 }

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
	steal0, t0 := stealTicks(), time.Now()
	end := t0.Add(d)
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
	steal := stealPercent(steal0, stealTicks(), time.Since(t0), runtime.NumCPU())
	slices.Sort(ms)
	return latency{P50: quantile(ms, 0.5), P99: quantile(ms, 0.99), Steal: steal}
}

// stealTicks is the machine's steal time so far, in USER_HZ ticks summed over CPUs;
// -1 when unknown.
func stealTicks() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	return parseSteal(string(b))
}

// parseSteal reads the steal time, the eighth value of the "cpu" line, from the text
// of /proc/stat; -1 when it is not there.
func parseSteal(procStat string) int64 {
	line, _, _ := strings.Cut(procStat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return -1
	}
	n, err := strconv.ParseInt(f[8], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// userHZ is the unit of /proc/stat's times, 100 on every Linux architecture Go runs on.
const userHZ = 100

// stealPercent is the steal between two readings as a share of cpus CPUs' time over d;
// NaN (printed so in the table) when a reading is unknown.
func stealPercent(a, b int64, d time.Duration, cpus int) float64 {
	if a < 0 || b < 0 || d <= 0 || cpus < 1 {
		return math.NaN()
	}
	return 100 * float64(b-a) / userHZ / (d.Seconds() * float64(cpus))
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}
