//go:build linux

package main

import (
	"slices"
	"testing"
)

func TestServerSpec(t *testing.T) {
	s := serverSpec(options{n: 20000, perGroup: 300, engine: "shared", serverArgs: []string{"--log-level", "warn"}}, "/bin/p", "/d", "postgres://x")
	if s.Targets != 20000 || s.Groups != 67 || s.AdminPassword != adminPassword {
		t.Errorf("targets %d groups %d password %q; want 20000, 67 and the benchmark's", s.Targets, s.Groups, s.AdminPassword)
	}
	if want := []string{"--ping-engine", "shared", "--log-level", "warn"}; !slices.Equal(s.Args, want) {
		t.Errorf("args %q, want %q", s.Args, want)
	}
}
