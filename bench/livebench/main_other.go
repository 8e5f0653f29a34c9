//go:build !linux

// Command livebench measures the live stream with server and clients in separate
// processes, reading their CPU and memory from /proc, which needs Linux, so elsewhere
// it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "livebench needs Linux (it reads server CPU and memory from /proc)")
	os.Exit(2)
}
