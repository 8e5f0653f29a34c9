//go:build linux

package instance

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// listenTimeout bounds the wait for the server's "listening" log line.
const listenTimeout = 60 * time.Second

// ServerSpec says how to run a pingdeck server for a benchmark.
type ServerSpec struct {
	Bin           string
	Dir           string // its data dir and log go here
	DBURL         string
	AdminPassword string
	// Targets and Groups are how many the admin will make: the quotas are raised to
	// allow them.
	Targets, Groups int
	Args            []string // more flags
}

// args are the server's flags: its data in Dir, HTTP on a free loopback port, loopback
// targets allowed, the quotas raised, then s.Args.
func (s ServerSpec) args() []string {
	args := []string{
		"--data-dir", filepath.Join(s.Dir, "data"),
		"--listen", "127.0.0.1:0",
		"--max-targets-per-user", strconv.Itoa(max(s.Targets, 10000)),
		"--max-groups-per-user", strconv.Itoa(max(s.Groups, 1000)),
		"--allow-targets", "127.0.0.0/8",
	}
	return append(args, s.Args...)
}

// StartServer runs the server and waits until it logs the address it listens on,
// which it returns.
func StartServer(ctx context.Context, s ServerSpec) (*Process, string, error) {
	return Start(ctx, Spec{
		Name: "server", Bin: s.Bin, Args: s.args(),
		Env:          Env(os.Environ(), "PINGDECK_DB="+s.DBURL, "PINGDECK_ADMIN_PASSWORD="+s.AdminPassword),
		LogPath:      filepath.Join(s.Dir, "server.log"),
		Ready:        func(line string) (string, bool) { return LogField(line, "pingdeck listening", "addr") },
		ReadyTimeout: listenTimeout,
	})
}
