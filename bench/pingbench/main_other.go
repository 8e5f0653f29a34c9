//go:build !linux

// Command pingbench compares the probe engines with fping; it needs Linux (network
// namespaces, AF_PACKET), so elsewhere it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "pingbench needs Linux (network namespaces and AF_PACKET)")
	os.Exit(2)
}
