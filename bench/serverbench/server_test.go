//go:build linux

package main

import (
	"slices"
	"strings"
	"testing"
)

func TestListenAddr(t *testing.T) {
	for _, tc := range []struct {
		line, want string
		ok         bool
	}{
		{`{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"pingdeck listening","addr":"127.0.0.1:41234","url":"http://127.0.0.1:41234","db":"postgres"}`, "127.0.0.1:41234", true},
		{`{"level":"INFO","msg":"bus: embedded NATS listening for agents and replicas","addr":"127.0.0.1:4222"}`, "", false},
		{`pingdeck listening on 127.0.0.1:8080`, "", false},
		{`{"msg":"pingdeck listening"}`, "", false},
	} {
		got, ok := listenAddr(tc.line)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %q %v, want %q %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestServerEnvDropsOurPingdeckVariables(t *testing.T) {
	env := serverEnv([]string{"PATH=/bin", "PINGDECK_LISTEN=:80", "PINGDECK_DB=sqlite:x"}, "postgres://p@/b?host=/tmp/x")
	want := []string{"PATH=/bin", "PINGDECK_DB=postgres://p@/b?host=/tmp/x", "PINGDECK_ADMIN_PASSWORD=" + adminPassword}
	if !slices.Equal(env, want) {
		t.Errorf("got %q, want %q", env, want)
	}
}

func TestServerArgsRaiseTheLimits(t *testing.T) {
	args := strings.Join(serverArgs(options{n: 20000, perGroup: 10, engine: "shared", serverArgs: []string{"--log-level", "warn"}}, "/d"), " ")
	for _, want := range []string{"--data-dir /d", "--listen 127.0.0.1:0", "--max-targets-per-user 20000",
		"--max-groups-per-user 2000", "--allow-targets 127.0.0.0/8", "--ping-engine shared", "--log-level warn"} {
		if !strings.Contains(args, want) {
			t.Errorf("%q lacks %q", args, want)
		}
	}
}
