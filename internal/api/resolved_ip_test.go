package api_test

import (
	"context"
	"net/netip"
	"testing"
)

// TestLiveShowsANewlyResolvedAddressAtOnce (issue 17 item 6): when the prober records
// a new address for a hostname target (SetTargetIP, as the scheduler does after a
// lookup), an open dashboard is sent a group_updated with it, and the live view and
// GET /groups/{id} agree. Before, nobody was told: the stream kept the old address
// (or none) while REST had the new one.
func TestLiveShowsANewlyResolvedAddressAtOnce(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), liveOptions())
	alice := e.user("alice")
	var g group
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "names", "targets": "localhost"}, 201, &g)
	if len(g.Targets) != 1 {
		t.Fatalf("created %+v", g)
	}
	tg := g.Targets[0]
	w := e.mustWS(alice, "")
	w.until("hello")
	snap := w.until("snapshot")
	if got, want := ipOf(snap.Group.Targets[0].IP), ipOf(tg.IP); got != want {
		t.Fatalf("snapshot ip %q, REST %q", got, want)
	}

	// The name now resolves elsewhere; the prober records it.
	moved := netip.MustParseAddr("127.0.0.2")
	if ipOf(tg.IP) == moved.String() {
		moved = netip.MustParseAddr("127.0.0.3")
	}
	if err := e.store.SetTargetIP(context.Background(), tg.ID, moved); err != nil {
		t.Fatal(err)
	}
	m := w.until("group_updated")
	var rest group
	alice.mustJSON("GET", "/api/v1/groups/"+g.ID, nil, 200, &rest)
	if got := ipOf(m.Group.Targets[0].IP); got != moved.String() {
		t.Fatalf("live target ip after the address changed = %q, want %q", got, moved)
	}
	if live, api := ipOf(m.Group.Targets[0].IP), ipOf(rest.Targets[0].IP); live != api {
		t.Fatalf("live ip %q, GET /groups/{id} ip %q: they must agree", live, api)
	}
}

func ipOf(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}
