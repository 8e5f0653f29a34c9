package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAgentConfigNamesTheSetting(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, tc := range []struct {
		args []string
		env  func(string) string
		want string
	}{
		{nil, env(), "--server (PINGDECK_SERVER): is required"},
		{[]string{"--server", "nats://h:4222"}, env(), "--credentials (PINGDECK_CREDENTIALS): is required"},
		{[]string{"--server", "http://h:4222", "--credentials", "x"}, env(), "--server (PINGDECK_SERVER)"},
		{[]string{"--server", "nats://h:4222", "--credentials", "x", "--buffer-max-mb", "0"}, env(), "--buffer-max-mb (PINGDECK_BUFFER_MAX_MB): must be at least 1"},
		{[]string{"--server", "nats://h:4222", "--credentials", "x"}, env("PINGDECK_ICMP_MODE", "loud"), "--icmp-mode (PINGDECK_ICMP_MODE)"},
		{[]string{"--server", "nats://h:4222", "--credentials", "x", "extra"}, env(), `unexpected argument "extra"`},
	} {
		_, err := parseAgentConfig(tc.args, tc.env, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
	cfg, err := parseAgentConfig(nil, env("PINGDECK_SERVER", "tls://h:4222", "PINGDECK_CREDENTIALS", "/etc/a.creds"), &bytes.Buffer{})
	if err != nil || cfg.Server != "tls://h:4222" || cfg.Credentials != "/etc/a.creds" || cfg.BufferMaxMB != 256 || cfg.DataDir != "./agent-data" {
		t.Fatalf("from the environment: %+v, %v", cfg, err)
	}
	var help bytes.Buffer
	if _, err := parseAgentConfig([]string{"--help"}, env(), &help); !errors.Is(err, flag.ErrHelp) ||
		!strings.Contains(help.String(), "pingdeck agent --server") || !strings.Contains(help.String(), "PINGDECK_BUFFER_MAX_MB") {
		t.Fatalf("--help: %v\n%s", err, help.String())
	}
}

func TestAgentRefusesABadCredentialFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fra.creds")
	if err := os.WriteFile(file, []byte("location: fra\nseed: not-a-seed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"agent", "--server", "nats://127.0.0.1:1", "--credentials", file}, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--credentials") || !strings.Contains(err.Error(), "seed") {
		t.Fatalf("a bad credential: %v", err)
	}
	err = run(context.Background(), []string{"agent", "--server", "nats://127.0.0.1:1", "--credentials", file + ".missing"}, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--credentials") {
		t.Fatalf("a missing credential file: %v", err)
	}
}
