// Package loopback numbers the benchmarks' targets: distinct loopback addresses from
// 127.64.0.1 on, 254 to a /24 (no .0 or .255), so that N targets are N addresses as
// pingdeck and the kernel see them, and no probe leaves the machine.
package loopback

import "fmt"

const (
	firstNet = 64
	perNet   = 254
	// MaxTargets is how many addresses there are, 127.64.0.1 … 127.255.255.254.
	MaxTargets = (256 - firstNet) * 256 * perNet
)

// Address is the i-th target's address (0 ≤ i < MaxTargets).
func Address(i int) string {
	net := i / perNet // a /24 among 127.64.0.0 … 127.255.255.0
	return fmt.Sprintf("127.%d.%d.%d", firstNet+net/256, net%256, 1+i%perNet)
}
