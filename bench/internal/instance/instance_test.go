//go:build linux

package instance

import (
	"slices"
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
		{`{"msg":"pingdeck listening","addr":12}`, "pingdeck listening", "addr", "", false},
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
