//go:build !linux

// Command clusterbench measures several replicas, reading their CPU from /proc, which
// needs Linux, so elsewhere it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "clusterbench needs Linux (it reads the replicas' CPU from /proc)")
	os.Exit(2)
}
