// Package ping probes targets with ICMP echo, continuously. An Engine sends the probes
// (two implementations: pro-bing, one pinger per target; and a shared socket for all
// targets); the Scheduler keeps the engine's target set equal to the stored, active
// targets and fans every Result out to the result writer and the live stream.
package ping

import (
	"context"
	"hash/fnv"
	"net/netip"
	"time"
)

// Target is one address an engine probes, with its group's settings.
type Target struct {
	ID       string
	GroupID  string
	Addr     netip.Addr
	Interval time.Duration
	Timeout  time.Duration
	Size     int // ICMP payload bytes
}

// Result is the outcome of one probe. A lost probe is a result too (OK false, RTT 0).
type Result struct {
	TargetID string
	GroupID  string
	// Location is where the probe was sent from (DESIGN §9): the server's own prober
	// ("local" unless renamed) or an agent's site. Engines leave it empty; the bus sets
	// it from the subject a batch came on, and storage reads empty as "local".
	Location string
	SentAt   time.Time
	RTT      time.Duration
	OK       bool
	Err      string // why it failed, when known: "timeout", "send: …", "resolve <host>: …"
}

// Reasons a probe failed, as reported in Result.Err.
const (
	ErrTimeout = "timeout"
)

// Engine probes a changing set of targets and reports the result of every probe.
type Engine interface {
	// Name says which engine this is ("probing" or "shared").
	Name() string
	// Update replaces the set of targets. Targets whose settings did not change keep
	// their schedule; removed targets are not probed again after Update returns (a
	// probe already in flight may still report).
	Update(targets []Target)
	// Run probes until ctx ends. emit is called once per probe, from the engine's own
	// goroutines; it must not block.
	Run(ctx context.Context, emit func(Result)) error
}

// Phase is a target's fixed offset within its interval, derived from its ID so that
// sends are spread evenly over the interval and stay put across restarts.
func Phase(targetID string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(targetID))
	return time.Duration(h.Sum64() % uint64(interval))
}

// Mode is how an engine gets permission to send ICMP.
type Mode string

// ICMP modes. Unprivileged uses datagram ICMP sockets (allowed by the sysctl
// net.ipv4.ping_group_range); privileged uses raw sockets (root or CAP_NET_RAW).
const (
	ModeAuto         Mode = "auto"
	ModeUnprivileged Mode = "unprivileged"
	ModePrivileged   Mode = "privileged"
)
