//go:build !linux

// Command agentbench measures pingdeck's agents, reading their CPU and memory from
// /proc, which needs Linux, so elsewhere it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "agentbench needs Linux (it reads the processes' CPU and memory from /proc)")
	os.Exit(2)
}
