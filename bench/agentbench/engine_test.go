//go:build linux

package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/groups"
)

func TestReadTargets(t *testing.T) {
	write := func(t *testing.T, text string) string {
		t.Helper()
		file := filepath.Join(t.TempDir(), "targets.json")
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	ts, err := readTargets(write(t, `[{"id":"a","address":"127.64.0.1"},{"id":"b","address":"127.64.0.2"}]`), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[1].ID != "b" || ts[1].Addr != netip.MustParseAddr("127.64.0.2") || ts[1].Interval != 2*time.Second ||
		ts[1].Timeout != groups.DefaultTimeout || ts[1].Size != groups.DefaultPacketSize {
		t.Errorf("targets %+v: want a and b every 2s with the groups' default timeout and size", ts)
	}
	// The child probes only loopback addresses, whatever the file says.
	for _, bad := range []string{`[{"id":"x","address":"192.0.2.1"}]`, `[{"id":"x","address":"localhost"}]`, `{"id":"x"}`} {
		if _, err := readTargets(write(t, bad), time.Second); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	if _, err := readTargets(filepath.Join(t.TempDir(), "none.json"), time.Second); err == nil || !strings.Contains(err.Error(), "none.json") {
		t.Errorf("a missing file: %v", err)
	}
}
