//go:build linux

package main

import (
	"context"

	"pingdeck/bench/internal/instance"
)

// adminPassword is the admin's password on every server the benchmark starts.
const adminPassword = "serverbench-password"

// startServer runs bin with its data in dir on the database at dbURL, and waits until
// it logs the address it listens on.
func startServer(ctx context.Context, bin, dir, dbURL string, o options) (*instance.Process, string, error) {
	return instance.StartServer(ctx, serverSpec(o, bin, dir, dbURL))
}

// serverSpec is the server the benchmark measures: quotas for its targets, the engine
// asked for, and -server-args.
func serverSpec(o options, bin, dir, dbURL string) instance.ServerSpec {
	s := instance.ServerSpec{Bin: bin, Dir: dir, DBURL: dbURL, AdminPassword: adminPassword,
		Targets: o.n, Groups: (o.n + o.perGroup - 1) / o.perGroup}
	if o.engine != "" {
		s.Args = append(s.Args, "--ping-engine", o.engine)
	}
	s.Args = append(s.Args, o.serverArgs...)
	return s
}
