//go:build linux

package main

import (
	"strings"
	"testing"
)

func TestServerArgsRaiseTheLimits(t *testing.T) {
	args := strings.Join(serverArgs(options{n: 20000, perGroup: 10, engine: "shared", serverArgs: []string{"--log-level", "warn"}}, "/d"), " ")
	for _, want := range []string{"--data-dir /d", "--listen 127.0.0.1:0", "--max-targets-per-user 20000",
		"--max-groups-per-user 2000", "--allow-targets 127.0.0.0/8", "--ping-engine shared", "--log-level warn"} {
		if !strings.Contains(args, want) {
			t.Errorf("%q lacks %q", args, want)
		}
	}
}
