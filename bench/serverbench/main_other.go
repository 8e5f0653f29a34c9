//go:build !linux

// Command serverbench measures the whole server, reading its CPU and memory from
// /proc, which needs Linux, so elsewhere it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "serverbench needs Linux (it reads the server's CPU and memory from /proc)")
	os.Exit(2)
}
