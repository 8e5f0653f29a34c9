//go:build unix

package storetest

import (
	"context"
	"fmt"
)

// Throwaway starts a throwaway PostgreSQL cluster outside of tests (for benchmarks),
// configured like the test cluster (unix socket only; fsync and synchronous_commit
// off), and returns the URL of a fresh database on it and a stop function that stops
// the cluster and deletes its files. The caller must call stop, also on interrupt.
func Throwaway(ctx context.Context) (dbURL string, stop func() error, err error) {
	e := &env{}
	e.mu.Lock()
	err = e.startCluster()
	e.mu.Unlock()
	if err != nil {
		return "", nil, err
	}
	name := "bench_" + randomHex(8)
	if _, err := e.admin.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(name)); err != nil {
		terr := e.teardown()
		return "", nil, fmt.Errorf("storetest: create database: %w (cleanup: %v)", err, terr)
	}
	return withDatabase(e.base, name), e.teardown, nil
}
