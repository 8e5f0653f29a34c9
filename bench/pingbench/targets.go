//go:build linux

package main

import (
	"fmt"
	"net/netip"
	"time"

	"pingdeck/internal/ping"
)

// maxTargets bounds one cell, so that a typo cannot turn pingbench into a flood.
const maxTargets = 50_000

// maxProbesPerSecond bounds the probe rate of one cell for the same reason.
const maxProbesPerSecond = 50_000

// loopbackAddr is the i-th benchmark address: 127.1.0.1, 127.1.0.2, … 254 hosts per
// /24 (no .0 or .255), then the next /24. Every one of them is in 127.0.0.0/8, which
// the kernel answers itself on lo: no probe ever leaves the machine.
func loopbackAddr(i int) netip.Addr {
	subnet := i / 254
	return netip.AddrFrom4([4]byte{127, byte(1 + subnet/256), byte(subnet % 256), byte(i%254 + 1)})
}

// sampled says whether the reference sniffer captures the traffic of addr when it
// samples one address in every (a power of two, 1 for all): those whose last byte
// is 1 modulo every, the same test its BPF filter makes in the kernel.
func sampled(addr netip.Addr, every int) bool {
	mask := byte(every - 1)
	return addr.As4()[3]&mask == 1&mask
}

// loopbackTargets returns n targets on distinct loopback addresses with the given
// probe settings. It refuses anything that is not loopback or is over the bounds.
func loopbackTargets(n int, interval, timeout time.Duration, size int) ([]ping.Target, error) {
	if n < 1 || n > maxTargets {
		return nil, fmt.Errorf("targets: %d targets: want 1 to %d", n, maxTargets)
	}
	if interval <= 0 || float64(n)/interval.Seconds() > maxProbesPerSecond {
		return nil, fmt.Errorf("targets: %d targets every %s is over the %d probes/s ceiling", n, interval, maxProbesPerSecond)
	}
	out := make([]ping.Target, n)
	for i := range out {
		addr := loopbackAddr(i)
		if !addr.IsLoopback() {
			return nil, fmt.Errorf("targets: %s is not a loopback address", addr)
		}
		out[i] = ping.Target{
			ID:       fmt.Sprintf("bench-%05d", i),
			GroupID:  "pingbench",
			Addr:     addr,
			Interval: interval,
			Timeout:  timeout,
			Size:     size,
		}
	}
	return out, nil
}
