package store

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"pingdeck/internal/groups"
)

func TestActiveTargets(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := newUser(t, s, "alice")
		live := newGroup(t, s, u.ID, "live", groups.Private, "192.0.2.1", "192.0.2.2", "gw.example.net")
		paused := newGroup(t, s, u.ID, "paused", groups.Private, "192.0.2.3")
		paused.Paused = true
		if err := s.UpdateGroup(ctx, paused); err != nil {
			t.Fatal(err)
		}
		if err := s.SetTargetPaused(ctx, live.ID, live.Targets[1].ID, true); err != nil {
			t.Fatal(err)
		}
		if err := s.SetTargetIP(ctx, live.Targets[2].ID, netip.MustParseAddr("198.51.100.7")); err != nil {
			t.Fatal(err)
		}
		got, err := s.ActiveTargets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("active targets = %+v, want 192.0.2.1 and gw.example.net only", got)
		}
		byAddr := map[string]int{got[0].Address: 0, got[1].Address: 1}
		ip, host := got[byAddr["192.0.2.1"]], got[byAddr["gw.example.net"]]
		if ip.Addr != netip.MustParseAddr("192.0.2.1") || ip.GroupID != live.ID || ip.Interval != 1500*time.Millisecond ||
			ip.Timeout != 700*time.Millisecond || ip.Size != 64 {
			t.Errorf("ip target = %+v", ip)
		}
		if host.Addr != netip.MustParseAddr("198.51.100.7") {
			t.Errorf("hostname target = %+v, want its recorded address", host)
		}
	})
}
