//go:build linux

package main

import (
	"sync"
	"time"

	"pingdeck/internal/ping"
)

// window is the measured part of a cell: probes sent in [Start, End) count.
type window struct {
	Start, End time.Time
}

func (w window) contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// Histogram tiers: 1 µs buckets below 1 ms, 10 µs below 10 ms, 1 ms below 1 s, then
// one overflow bucket. Loopback RTTs live in the first tier, where precision matters.
const (
	tier1End    = 1000      // µs
	tier2End    = 10_000    // µs
	tier3End    = 1_000_000 // µs
	tier2Start  = tier1End  // first bucket index of tier 2
	tier3Start  = tier2Start + (tier2End-tier1End)/10
	overflowIdx = tier3Start + (tier3End-tier2End)/1000
	numBuckets  = overflowIdx + 1
)

// rttHistogram counts RTTs in fixed buckets, so that a cell's percentiles cost the
// same small memory whatever its probe count (the child's RSS is part of the result).
type rttHistogram struct {
	counts [numBuckets]int64
	n      int64
	max    time.Duration
}

func bucketOf(d time.Duration) int {
	us := d.Microseconds()
	switch {
	case us < 0:
		return 0
	case us < tier1End:
		return int(us)
	case us < tier2End:
		return tier2Start + int(us-tier1End)/10
	case us < tier3End:
		return tier3Start + int(us-tier2End)/1000
	}
	return overflowIdx
}

// bucketValue is the middle of bucket i (for the overflow bucket: its lower bound).
func bucketValue(i int) time.Duration {
	us := func(v float64) time.Duration { return time.Duration(v * float64(time.Microsecond)) }
	switch {
	case i < tier2Start:
		return us(float64(i) + 0.5)
	case i < tier3Start:
		return us(tier1End + float64(i-tier2Start)*10 + 5)
	case i < overflowIdx:
		return us(tier2End + float64(i-tier3Start)*1000 + 500)
	}
	return us(tier3End)
}

func (h *rttHistogram) add(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
}

// quantile is the nearest-rank q-quantile (0 < q ≤ 1), or 0 for an empty histogram.
func (h *rttHistogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.999999999)
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			if i == overflowIdx {
				return h.max
			}
			return min(bucketValue(i), h.max)
		}
	}
	return h.max
}

// percentiles summarizes a set of RTTs.
type percentiles struct {
	N   int64         `json:"n"`
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

func (h *rttHistogram) percentiles() percentiles {
	return percentiles{N: h.n, P50: h.quantile(0.50), P99: h.quantile(0.99), Max: h.max}
}

// probeStats is what an engine reported about the probes it sent in the window.
type probeStats struct {
	Probes   int64       `json:"probes"` // results for probes sent in the window
	OK       int64       `json:"ok"`
	Lost     int64       `json:"lost"`   // no reply before the timeout
	Failed   int64       `json:"failed"` // send errors and other failures
	FirstErr string      `json:"first_err,omitempty"`
	RTT      percentiles `json:"rtt"` // of the OK probes
	// SampledRTT is RTT over the targets the reference sniffer sampled, which its
	// percentiles are compared with.
	SampledRTT percentiles `json:"sampled_rtt"`
}

// lossPct is the share of probes in the window that did not come back, in percent.
func (s probeStats) lossPct() float64 {
	if s.Probes == 0 {
		return 0
	}
	return 100 * float64(s.Probes-s.OK) / float64(s.Probes)
}

// collector turns a stream of probe outcomes into probeStats for one window. It is
// safe for concurrent use: engines report from their own goroutines.
type collector struct {
	win window

	mu          sync.Mutex
	hist        rttHistogram
	sampledHist rttHistogram
	stats       probeStats
}

func newCollector(win window) *collector { return &collector{win: win} }

// add records one probe sent at sentAt; probes outside the window are ignored.
// errText is the failure reason when !ok ("timeout" counts as lost); sampled says
// the target is one the reference sniffer captures.
func (c *collector) add(sentAt time.Time, ok bool, rtt time.Duration, errText string, sampled bool) {
	if !c.win.contains(sentAt) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Probes++
	switch {
	case ok:
		c.stats.OK++
		c.hist.add(rtt)
		if sampled {
			c.sampledHist.add(rtt)
		}
	case errText == "" || errText == ping.ErrTimeout:
		c.stats.Lost++
	default:
		c.stats.Failed++
		if c.stats.FirstErr == "" {
			c.stats.FirstErr = errText
		}
	}
}

// result returns the stats so far.
func (c *collector) result() probeStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.RTT = c.hist.percentiles()
	s.SampledRTT = c.sampledHist.percentiles()
	return s
}
