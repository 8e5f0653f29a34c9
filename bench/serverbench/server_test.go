//go:build linux

package main

import (
	"slices"
	"testing"
	"time"
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

func TestOptionsDB(t *testing.T) {
	o := options{n: 500, perGroup: 500, interval: time.Second, window: 10 * time.Second, drain: time.Minute}
	for db, ok := range map[string]bool{dbPostgres: true, dbSQLite: true, "": false, "mysql": false} {
		o.db = db
		if err := o.validate(); (err == nil) != ok {
			t.Errorf("-db %q: %v", db, err)
		}
	}
}
