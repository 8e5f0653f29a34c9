//go:build !linux

// Command storagebench needs Linux (it runs the server and a throwaway PostgreSQL).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "storagebench: runs on Linux only")
	os.Exit(1)
}
