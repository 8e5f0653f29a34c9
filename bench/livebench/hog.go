//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"
)

const hogRole = "-hog-role"

// hogLimit bounds a hog process even if nobody stops it.
const hogLimit = 2 * time.Minute

// runHog keeps every CPU busy with pure computation until stdin closes (or hogLimit):
// the stand-in for the clients' CPU use without their sockets.
func runHog(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, hogLimit)
	defer cancel()
	go func() { _, _ = io.Copy(io.Discard, stdin); cancel() }() // ends with the process
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := uint64(1)
			for ctx.Err() == nil {
				for range 1 << 16 {
					x = x*6364136223846793005 + 1442695040888963407
				}
			}
			_ = x
		}()
	}
	fmt.Fprintln(stdout, "spinning")
	wg.Wait()
	return nil
}
