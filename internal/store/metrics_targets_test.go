package store

import (
	"context"
	"net/netip"
	"testing"

	"pingdeck/internal/groups"
)

// A group's metrics setting is stored, and only its targets are listed for
// /metrics/targets, with the group name and the resolved address.
func TestMetricsTargets(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := newUser(t, s, "alice")
		on := newGroup(t, s, alice.ID, "exported", groups.Private, "127.0.0.1", "example.net")
		newGroup(t, s, alice.ID, "quiet", groups.Private, "127.0.0.2")

		got, err := s.MetricsTargets(ctx)
		if err != nil || len(got) != 0 {
			t.Fatalf("before opting in: MetricsTargets = %+v, %v; want none (the default is off)", got, err)
		}
		v, err := s.GroupFor(ctx, on.ID, alice.ID)
		if err != nil || v.Group.Metrics {
			t.Fatalf("new group: metrics = %v, %v; want false", v.Group.Metrics, err)
		}
		v.Group.Metrics = true
		if err := s.UpdateGroup(ctx, v.Group); err != nil {
			t.Fatal(err)
		}
		if v, _ = s.GroupFor(ctx, on.ID, alice.ID); !v.Group.Metrics {
			t.Fatal("metrics setting not stored")
		}
		got, err = s.MetricsTargets(ctx)
		if err != nil || len(got) != 2 {
			t.Fatalf("MetricsTargets = %+v, %v; want the 2 targets of %q", got, err, on.Name)
		}
		byAddr := map[string]MetricsTarget{}
		for _, m := range got {
			if m.GroupID != on.ID || m.GroupName != "exported" {
				t.Errorf("target %s listed with group %s/%q", m.Address, m.GroupID, m.GroupName)
			}
			byAddr[m.Address] = m
		}
		if ip := byAddr["127.0.0.1"].IP; ip != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("127.0.0.1 listed with ip %v", ip)
		}
		if ip := byAddr["example.net"].IP; ip.IsValid() {
			t.Errorf("an unresolved hostname listed with ip %v, want none", ip)
		}
	})
}
