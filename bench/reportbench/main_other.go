//go:build !unix

// Command reportbench times reports on a throwaway PostgreSQL cluster, which needs a
// Unix system, so elsewhere it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "reportbench needs a Unix system (it starts a throwaway PostgreSQL)")
	os.Exit(2)
}
