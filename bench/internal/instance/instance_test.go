//go:build linux

package instance

import (
	"slices"
	"strings"
	"testing"
)

func TestLogField(t *testing.T) {
	for _, tc := range []struct {
		line, msg, field, want string
		ok                     bool
	}{
		{`{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"pingdeck listening","addr":"127.0.0.1:41234","db":"postgres"}`,
			"pingdeck listening", "addr", "127.0.0.1:41234", true},
		{`{"level":"INFO","msg":"bus: embedded NATS listening for agents and replicas","addr":"127.0.0.1:4222"}`,
			"pingdeck listening", "addr", "", false},
		{`{"level":"INFO","msg":"probe engine ready","engine":"shared","icmp_mode":"privileged"}`,
			"probe engine ready", "icmp_mode", "privileged", true},
		{`pingdeck listening on 127.0.0.1:8080`, "pingdeck listening", "addr", "", false},
		{`{"msg":"pingdeck listening"}`, "pingdeck listening", "addr", "", false},
		{`{"msg":"pingdeck listening","addr":true}`, "pingdeck listening", "addr", "", false},
		{`{"msg":"done","results":300000,"rate":0.5}`, "done", "results", "300000", true},
		{`{"msg":"done","results":300000,"rate":0.5}`, "done", "rate", "0.5", true},
	} {
		got, ok := LogField(tc.line, tc.msg, tc.field)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %q %v, want %q %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestEnvDropsOurPingdeckVariables(t *testing.T) {
	env := Env([]string{"PATH=/bin", "PINGDECK_LISTEN=:80", "PINGDECK_DB=sqlite:x"}, "PINGDECK_DB=postgres://p@/b?host=/tmp/x")
	if want := []string{"PATH=/bin", "PINGDECK_DB=postgres://p@/b?host=/tmp/x"}; !slices.Equal(env, want) {
		t.Errorf("got %q, want %q", env, want)
	}
}

func TestServerArgsRaiseTheLimits(t *testing.T) {
	args := strings.Join(ServerSpec{Dir: "/d", Targets: 20000, Groups: 2000, Args: []string{"--log-level", "warn"}}.args(), " ")
	for _, want := range []string{"--data-dir /d/data", "--listen 127.0.0.1:0", "--max-targets-per-user 20000",
		"--max-groups-per-user 2000", "--allow-targets 127.0.0.0/8", "--log-level warn"} {
		if !strings.Contains(args, want) {
			t.Errorf("%q lacks %q", args, want)
		}
	}
	if small := strings.Join(ServerSpec{Targets: 5, Groups: 1}.args(), " "); !strings.Contains(small, "--max-targets-per-user 10000") {
		t.Errorf("quotas below the defaults: %q", small)
	}
}
