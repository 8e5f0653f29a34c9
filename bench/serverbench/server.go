//go:build linux

package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"pingdeck/bench/internal/instance"
)

// adminPassword is the admin's password on every server the benchmark starts.
const adminPassword = "serverbench-password"

// listenTimeout bounds the wait for the server's "listening" log line.
const listenTimeout = 60 * time.Second

// serverArgs are the flags the benchmark starts a server with.
func serverArgs(o options, dataDir string) []string {
	groups := (o.n + o.perGroup - 1) / o.perGroup
	args := []string{
		"--data-dir", dataDir,
		"--listen", "127.0.0.1:0",
		"--max-targets-per-user", strconv.Itoa(max(o.n, 10000)),
		"--max-groups-per-user", strconv.Itoa(max(groups, 1000)),
		"--allow-targets", "127.0.0.0/8",
	}
	if o.engine != "" {
		args = append(args, "--ping-engine", o.engine)
	}
	return append(args, o.serverArgs...)
}

// startServer runs bin with its data in dir on the database at dbURL, and waits until
// it logs the address it listens on.
func startServer(ctx context.Context, bin, dir, dbURL string, o options) (*instance.Process, string, error) {
	return instance.Start(ctx, instance.Spec{
		Name: "server", Bin: bin, Args: serverArgs(o, filepath.Join(dir, "data")),
		Env:          instance.Env(os.Environ(), "PINGDECK_DB="+dbURL, "PINGDECK_ADMIN_PASSWORD="+adminPassword),
		LogPath:      filepath.Join(dir, "server.log"),
		Ready:        func(line string) (string, bool) { return instance.LogField(line, "pingdeck listening", "addr") },
		ReadyTimeout: listenTimeout,
	})
}
