package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"pingdeck/internal/live"
	"pingdeck/internal/live/livetest"
	"pingdeck/internal/wire"
)

func liveOptions() options { return options{live: &live.Options{}} }

func TestLiveRefusesUnauthenticatedAndForeignOrigins(t *testing.T) {
	o := liveOptions()
	o.origin = []string{"https://dash.example.net"}
	e := newEnv(t, sqliteDSN(t), o)
	alice := e.user("alice")

	_, resp, err := e.dialWS(e.anon(), "", nil)
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("anonymous dial: err %v, resp %+v; want 401 before any upgrade", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"code":"unauthenticated"`) {
		t.Errorf("401 body is not the JSON error: %s", body)
	}

	for _, tc := range []struct {
		origin string
		want   int
	}{
		{"https://evil.example", 403},
		{"null", 403},
		{"https://dash.example.net", 101},
		{e.srv.URL, 101}, // the server's own origin
		{"", 101},        // not a browser
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		w, resp, err := e.dialWS(alice, "", h)
		if resp == nil || resp.StatusCode != tc.want {
			t.Errorf("Origin %q: %v %+v, want %d", tc.origin, err, resp, tc.want)
			continue
		}
		if tc.want == 101 {
			if m := w.next(); m.Type != "hello" {
				t.Errorf("Origin %q: first message %s, want hello", tc.origin, m.Raw)
			}
		}
	}
	// A plain GET is not a handshake.
	alice.mustError("GET", "/api/v1/ws", nil, 400, "invalid", "")
}

func TestLiveHelloAndSnapshot(t *testing.T) {
	eachEnv(t, liveOptions(), func(t *testing.T, e *env) {
		alice := e.user("alice")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "edge", "targets": "192.0.2.1\n192.0.2.2\nrouter.example.net", "allow_unresolved": true}, 201, &g)
		up, down := g.Targets[0].ID, g.Targets[1].ID

		first := e.mustWS(alice, "")
		hello := first.next()
		if hello.Type != "hello" || hello.User == nil || hello.User.Username != "alice" || hello.ResumeToken == "" {
			t.Fatalf("hello = %s", hello.Raw)
		}
		if _, err := time.Parse(time.RFC3339Nano, hello.ServerTime); err != nil {
			t.Errorf("server_time %q: %v", hello.ServerTime, err)
		}
		snap := first.next()
		if snap.Type != "snapshot" || snap.Group == nil || snap.Group.ID != g.ID || snap.Group.Name != "edge" ||
			snap.Group.Role != "owner" || snap.Group.Owner.Username != "alice" || len(snap.Group.Targets) != 3 {
			t.Fatalf("snapshot = %s", snap.Raw)
		}
		for _, tg := range snap.Group.Targets {
			if tg.State != "unknown" || tg.Last != nil || tg.Loss1m != nil || len(tg.Recent) != 0 {
				t.Errorf("target before any result: %+v", tg)
			}
		}
		if tg := snap.Group.Targets[2]; tg.Address != "router.example.net" || tg.IP != nil {
			t.Errorf("unresolved hostname target: %+v", tg)
		}
		// The snapshot's group and targets are what the REST API says of them, with
		// the live fields added.
		var rest wire.Group
		alice.mustJSON("GET", "/api/v1/groups/"+g.ID, nil, 200, &rest)
		if len(rest.Targets) != len(snap.Group.Targets) {
			t.Fatalf("GET has %d targets, the snapshot %d", len(rest.Targets), len(snap.Group.Targets))
		}
		for i, tg := range snap.Group.Targets {
			if !reflect.DeepEqual(tg.Target, rest.Targets[i]) {
				t.Errorf("snapshot target %s is not GET's %+v", snap.Raw, rest.Targets[i])
			}
		}
		if rest.Targets = nil; !reflect.DeepEqual(snap.Group.Group, rest) {
			t.Errorf("snapshot group %s is not GET's %+v", snap.Raw, rest)
		}

		// Three rounds: the first target answers, the second never does.
		start := time.Now().Add(-3 * time.Second).Truncate(time.Second)
		for i := range 3 {
			at := start.Add(time.Duration(i) * time.Second)
			publish(e.hub, g.ID, []string{up}, at, true)
			publish(e.hub, g.ID, []string{down}, at, false)
		}
		var got []wsItem
		for len(got) < 6 {
			m := first.until("results")
			got = append(got, m.Items...)
		}
		if it := got[0]; it.G != g.ID || it.T != up || !it.OK || it.RTTMs == nil || *it.RTTMs != 1.5 || it.At != start.UnixMilli() || it.Err != "" {
			t.Errorf("first item = %+v", it)
		}
		if it := got[1]; it.T != down || it.OK || it.RTTMs != nil || it.Err != "timeout" {
			t.Errorf("lost probe item = %+v", it)
		}

		second := e.mustWS(alice, "")
		second.until("hello")
		snap = second.until("snapshot")
		byID := map[string]wsTarget{}
		for _, tg := range snap.Group.Targets {
			byID[tg.ID] = tg
		}
		u, d := byID[up], byID[down]
		if u.State != "up" || u.Last == nil || !u.Last.OK || *u.Last.RTTMs != 1.5 || u.Loss1m == nil || *u.Loss1m != 0 || len(u.Recent) != 3 {
			t.Errorf("answering target in snapshot: %+v", u)
		}
		if d.State != "down" || d.Loss1m == nil || *d.Loss1m != 1 || len(d.Recent) != 3 || d.Recent[0].At != start.UnixMilli() || d.Recent[2].At != start.Add(2*time.Second).UnixMilli() {
			t.Errorf("silent target in snapshot: %+v", d)
		}
	})
}

// collect reads results until want items of the given group have arrived, returning
// every item read.
func (w *ws) collect(groupID string, want int) []wsItem {
	w.t.Helper()
	var all []wsItem
	n := 0
	for n < want {
		m := w.until("results")
		for _, it := range m.Items {
			all = append(all, it)
			if it.G == groupID {
				n++
			}
		}
	}
	return all
}

func TestLiveResultsOnlyForSubscribedVisibleGroups(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), liveOptions())
	alice, bob := e.user("alice"), e.user("bob")
	var private, public, bobs group
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "private", "targets": "192.0.2.1"}, 201, &private)
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "public", "visibility": "public", "targets": "192.0.2.2"}, 201, &public)
	bob.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "bob's", "targets": "192.0.2.3"}, 201, &bobs)

	aw, bw := e.mustWS(alice, ""), e.mustWS(bob, "")
	aw.until("hello")
	if a, b := aw.until("snapshot").Group.ID, aw.until("snapshot").Group.ID; a != private.ID || b != public.ID {
		t.Fatalf("alice's dashboard snapshots: %s, %s", a, b)
	}
	bw.until("hello")
	if id := bw.until("snapshot").Group.ID; id != bobs.ID {
		t.Fatalf("bob's dashboard snapshot: %s", id)
	}
	// Bob may follow the public group, but alice's private one does not exist for him.
	bw.send(map[string]any{"type": "subscribe", "groups": []string{private.ID, public.ID}})
	if m := bw.next(); m.Type != "error" || m.Code != "not_found" || m.ID != private.ID {
		t.Fatalf("subscribing to another's private group: %s", m.Raw)
	}
	if m := bw.until("snapshot"); m.Group.ID != public.ID || m.Group.Role != "viewer" {
		t.Fatalf("subscribing to a public group: %s", m.Raw)
	}

	now := time.Now()
	for i := range 3 {
		at := now.Add(time.Duration(i) * time.Second)
		publish(e.hub, private.ID, ids(private), at, true)
		publish(e.hub, public.ID, ids(public), at, true)
		publish(e.hub, bobs.ID, ids(bobs), at, true)
	}
	seen := func(items []wsItem) map[string]int {
		out := map[string]int{}
		for _, it := range items {
			out[it.G]++
		}
		return out
	}
	a := seen(aw.collect(private.ID, 3))
	if a[bobs.ID] != 0 || a[private.ID] != 3 {
		t.Errorf("alice received %v; want her groups only", a)
	}
	b := seen(bw.collect(public.ID, 3))
	if b[private.ID] != 0 || b[public.ID] != 3 {
		t.Errorf("bob received %v; want his and the public group only", b)
	}
	// Unsubscribed: no more results for that group.
	bw.send(map[string]any{"type": "unsubscribe", "groups": []string{public.ID}})
	bw.send(map[string]any{"type": "ping"})
	if m := bw.until("pong"); m.Type != "pong" {
		t.Fatal(m.Raw)
	}
	publish(e.hub, public.ID, ids(public), now.Add(5*time.Second), true)
	publish(e.hub, bobs.ID, ids(bobs), now.Add(5*time.Second), true)
	if b := seen(bw.collect(bobs.ID, 1)); b[public.ID] != 0 {
		t.Errorf("after unsubscribe bob still receives the public group: %v", b)
	}
}

func TestLiveAPIChangesReachOpenSockets(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), liveOptions())
	alice, bob := e.user("alice"), e.user("bob")
	var g group
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "edge", "visibility": "public", "targets": "192.0.2.1"}, 201, &g)
	w := e.mustWS(alice, "")
	w.until("hello")
	w.until("snapshot")

	var added addResult
	alice.mustJSON("POST", "/api/v1/groups/"+g.ID+"/targets", map[string]any{"targets": "192.0.2.2"}, 200, &added)
	if m := w.until("group_updated"); len(m.Group.Targets) != 2 || m.Group.Targets[1].Address != "192.0.2.2" || m.Group.TargetCount != 2 {
		t.Fatalf("after adding a target: %s", m.Raw)
	}
	alice.mustJSON("PATCH", "/api/v1/groups/"+g.ID, map[string]any{"name": "core", "paused": true}, 200, nil)
	if m := w.until("group_updated"); m.Group.Name != "core" || !m.Group.Paused || m.Group.Targets[0].State != "paused" {
		t.Fatalf("after rename and pause: %s", m.Raw)
	}
	alice.mustJSON("PATCH", "/api/v1/groups/"+g.ID+"/targets/"+added.Added[0].ID, map[string]any{"paused": true}, 200, nil)
	if m := w.until("group_updated"); !m.Group.Targets[1].Paused {
		t.Fatalf("after pausing a target: %s", m.Raw)
	}
	alice.mustJSON("DELETE", "/api/v1/groups/"+g.ID+"/targets/"+added.Added[0].ID, nil, 204, nil)
	if m := w.until("group_updated"); len(m.Group.Targets) != 1 {
		t.Fatalf("after deleting a target: %s", m.Raw)
	}

	// A new group joins the dashboard of every socket following it.
	var second group
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "second", "targets": "192.0.2.9"}, 201, &second)
	if m := w.until("snapshot"); m.Group.ID != second.ID {
		t.Fatalf("new group: %s", m.Raw)
	}
	publish(e.hub, second.ID, ids(second), time.Now(), true)
	if items := w.collect(second.ID, 1); items[len(items)-1].G != second.ID {
		t.Fatalf("results of the new group: %+v", items)
	}

	// Bob follows the public group and his own; making it private revokes his access.
	var bobs group
	bob.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "bob's", "targets": "192.0.2.3"}, 201, &bobs)
	bw := e.mustWS(bob, "")
	bw.until("hello")
	bw.until("snapshot")
	bw.send(map[string]any{"type": "subscribe", "groups": []string{g.ID}})
	bw.until("snapshot")
	only := e.mustWS(bob, "")
	only.until("hello")
	only.until("snapshot")
	only.send(map[string]any{"type": "unsubscribe", "groups": []string{bobs.ID}})
	only.send(map[string]any{"type": "subscribe", "groups": []string{g.ID}})
	only.until("snapshot")
	alice.mustJSON("PATCH", "/api/v1/groups/"+g.ID, map[string]any{"visibility": "private"}, 200, nil)
	if m := bw.until("access_revoked"); m.ID != g.ID {
		t.Fatalf("access_revoked = %s", m.Raw)
	}
	if code := only.closeCode(); code != live.CloseAccessRevoked {
		t.Fatalf("a socket left with no visible group closed with %d, want 4403", code)
	}
	if m := w.until("group_updated"); m.Group.Visibility != "private" || m.Group.Role != "owner" {
		t.Fatalf("the owner after the visibility change: %s", m.Raw)
	}

	// Deleting a group tells its followers.
	alice.mustJSON("DELETE", "/api/v1/groups/"+g.ID, nil, 204, nil)
	if m := w.until("group_deleted"); m.ID != g.ID {
		t.Fatalf("group_deleted = %s", m.Raw)
	}

	// Signing out and revoking a token close the sockets opened with them, and only those.
	var tok struct{ ID, Token string }
	alice.mustJSON("POST", "/api/v1/tokens", map[string]any{"name": "wall"}, 201, &tok)
	byToken := e.mustWS(&client{t: t, http: &http.Client{}, bearer: tok.Token}, "")
	byToken.until("hello")
	alice.mustJSON("DELETE", "/api/v1/tokens/"+tok.ID, nil, 204, nil)
	if code := byToken.closeCode(); code != live.CloseUnauthenticated {
		t.Fatalf("socket of a revoked token closed with %d, want 4401", code)
	}
	alice.mustJSON("POST", "/api/v1/auth/logout", nil, 204, nil)
	if code := w.closeCode(); code != live.CloseUnauthenticated {
		t.Fatalf("socket of a signed-out session closed with %d, want 4401", code)
	}
	bw.send(map[string]any{"type": "ping"})
	if m := bw.until("pong"); m.Type != "pong" {
		t.Fatal("bob's socket went with alice's session")
	}
}

func TestLivePinnedFlagIsEachUsersOwn(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), liveOptions())
	alice, bob := e.user("alice"), e.user("bob")
	var g group
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "edge", "visibility": "public", "targets": "192.0.2.1"}, 201, &g)
	aw := e.mustWS(alice, "")
	aw.until("hello")
	if m := aw.until("snapshot"); m.Group.Pinned {
		t.Fatalf("alice's snapshot of her unpinned group: %s", m.Raw)
	}
	dash := e.mustWS(bob, "") // bob's dashboard: nothing yet
	dash.until("hello")
	explicit := e.mustWS(bob, "")
	explicit.until("hello")
	explicit.send(map[string]any{"type": "subscribe", "groups": []string{g.ID}})
	if m := explicit.until("snapshot"); m.Group.Pinned {
		t.Fatalf("bob's snapshot before pinning: %s", m.Raw)
	}

	bob.mustJSON("PUT", "/api/v1/me/pins/"+g.ID, nil, 204, nil)
	if m := dash.until("snapshot"); m.Group.ID != g.ID || !m.Group.Pinned {
		t.Fatalf("the pinned group joining bob's dashboard: %s", m.Raw)
	}
	if m := explicit.until("group_updated"); !m.Group.Pinned {
		t.Fatalf("bob's other socket after pinning: %s", m.Raw)
	}
	alice.mustJSON("PATCH", "/api/v1/groups/"+g.ID, map[string]any{"name": "core"}, 200, nil)
	if m := aw.next(); m.Type != "group_updated" || m.Group.Name != "core" || m.Group.Pinned {
		t.Fatalf("alice after a rename (bob's pin is not hers): %s", m.Raw)
	}
	if m := explicit.until("group_updated"); m.Group.Name != "core" || !m.Group.Pinned {
		t.Fatalf("bob after a rename: %s", m.Raw)
	}

	bob.mustJSON("DELETE", "/api/v1/me/pins/"+g.ID, nil, 204, nil)
	if m := explicit.until("group_updated"); m.Group.Pinned {
		t.Fatalf("bob's socket after unpinning: %s", m.Raw)
	}
}

func TestLiveNotificationsReachTheRecipient(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), liveOptions())
	alice, bob := e.user("alice"), e.user("bob")
	aw, bw := e.mustWS(alice, ""), e.mustWS(bob, "")
	aw.until("hello")
	bw.until("hello")
	var bobUser struct{ ID string }
	bob.mustJSON("GET", "/api/v1/me", nil, 200, &bobUser)
	e.hub.Notify(groupsNotification(bobUser.ID))
	if m := bw.until("notification"); m.Notification == nil || m.Notification.Kind != "look" || m.Notification.From != "alice" {
		t.Fatalf("notification = %s", m.Raw)
	}
	aw.send(map[string]any{"type": "ping"})
	if m := aw.next(); m.Type != "pong" {
		t.Fatalf("alice got %s, want nothing before her pong", m.Raw)
	}
}

// resumeScene is alice with one group of targets, an observer socket that stays
// connected throughout (and so sees every tick), and a socket w that will go away and
// resume; both have had their hello and snapshot.
type resumeScene struct {
	e           *env
	alice       *client
	g           group
	observer, w *ws
	hello       wsMsg // w's
}

func newResumeScene(t *testing.T, name, targets string) *resumeScene {
	t.Helper()
	sc := &resumeScene{e: newEnv(t, sqliteDSN(t), liveOptions())}
	sc.alice = sc.e.user("alice")
	sc.alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": name, "targets": targets}, 201, &sc.g)
	sc.observer = sc.e.mustWS(sc.alice, "")
	sc.observer.until("hello")
	sc.observer.until("snapshot")
	sc.w = sc.e.mustWS(sc.alice, "")
	sc.hello = sc.w.until("hello")
	sc.w.until("snapshot")
	return sc
}

func TestLiveResumeFillsTheGapExactly(t *testing.T) {
	sc := newResumeScene(t, "edge", "192.0.2.1\n192.0.2.2")
	e, alice, g, observer, w, hello := sc.e, sc.alice, sc.g, sc.observer, sc.w, sc.hello

	base := time.Now().Truncate(time.Second)
	round := func(i int) { publish(e.hub, g.ID, ids(g), base.Add(time.Duration(i)*time.Second), i%3 != 0) }
	round(0)
	last := w.until("results")
	observer.until("results")
	w.conn.Close() // the network goes away

	type tick struct {
		seq   uint64
		items []wsItem
	}
	var missed []tick
	for i := 1; i <= 4; i++ {
		round(i)
		m := observer.until("results")
		missed = append(missed, tick{m.Seq, m.Items})
	}

	for _, form := range []string{"query", "message"} {
		t.Run(form, func(t *testing.T) {
			var back *ws
			if form == "query" {
				back = e.mustWS(alice, "?resume="+hello.ResumeToken+"&since="+uitoa(last.Seq))
				back.t = t
				back.until("hello")
			} else {
				back = e.mustWS(alice, "")
				back.t = t
				back.until("hello")
				back.until("snapshot")
				back.send(map[string]any{"type": "resume", "token": hello.ResumeToken, "since": last.Seq})
			}
			// The replay may merge ticks into fewer messages, as the live stream does;
			// together they hold exactly the missed items, in order (and, the second
			// time, the first subtest's round 10 after them).
			var got, want []wsItem
			for _, m := range missed {
				want = append(want, m.items...)
			}
			var seq uint64
			for seq < missed[len(missed)-1].seq {
				m := back.next()
				if m.Type != "results" || m.Seq <= seq {
					t.Fatalf("replayed %s after seq %d; want results up to seq %d", m.Raw, seq, missed[len(missed)-1].seq)
				}
				seq = m.Seq
				got = append(got, m.Items...)
			}
			extra := got[min(len(got), len(want)):]
			if g, w := mustMarshal(t, got[:len(got)-len(extra)]), mustMarshal(t, want); g != w {
				t.Fatalf("replayed items %s\nwant %s", g, w)
			}
			for _, it := range extra {
				if it.At != base.Add(10*time.Second).UnixMilli() {
					t.Fatalf("replayed more than was missed: %+v", it)
				}
			}
			// …then the stream goes on live.
			round(10)
			if m := back.next(); m.Type != "results" || m.Seq <= missed[len(missed)-1].seq || len(m.Items) != 2 {
				t.Fatalf("after the replay: %s", m.Raw)
			}
			observer.until("results")
		})
	}

	// A token from another server start gets fresh snapshots instead.
	other := e.mustWS(alice, "?resume=stale&since="+uitoa(last.Seq))
	other.until("hello")
	if m := other.next(); m.Type != "snapshot" || len(m.Group.Targets[0].Recent) == 0 {
		t.Fatalf("resume with an unknown token: %s", m.Raw)
	}
}

func TestLiveResumeSnapshotsGroupsAddedDuringTheGap(t *testing.T) {
	sc := newResumeScene(t, "had", "192.0.2.1")
	e, alice, had, observer, w, hello := sc.e, sc.alice, sc.g, sc.observer, sc.w, sc.hello
	base := time.Now().Truncate(time.Second)
	publish(e.hub, had.ID, ids(had), base, true)
	last := w.until("results")
	observer.until("results")
	w.conn.Close() // the network goes away

	var added group
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "added", "targets": "192.0.2.2"}, 201, &added)
	observer.until("snapshot")
	publish(e.hub, had.ID, ids(had), base.Add(time.Second), true)
	observer.until("results")

	back := e.mustWS(alice, "?resume="+hello.ResumeToken+"&since="+uitoa(last.Seq))
	back.until("hello")
	replayed, snapshot := false, false
	for !replayed || !snapshot {
		m := back.next()
		switch {
		case m.Type == "results" && len(m.Items) == 1 && m.Items[0].G == had.ID && m.Items[0].At == base.Add(time.Second).UnixMilli():
			replayed = true
		case m.Type == "snapshot" && m.Group.ID == added.ID:
			snapshot = true
		default:
			t.Fatalf("resuming after a group was added: %s; want the missed result of %q and a snapshot of %q", m.Raw, had.Name, added.Name)
		}
	}
}

func TestLiveClientThatNeverReadsIsDropped(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), liveOptions())
	alice := e.user("alice")
	var g group
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "big", "targets": "192.0.2.1"}, 201, &g)
	good := e.mustWS(alice, "")
	good.until("hello")
	good.until("snapshot")
	// The frozen client takes its hello and snapshot, then never reads again; a small
	// receive buffer lets the server find out sooner.
	frozen, _, err := e.dialWSWith(alice, "", nil, livetest.Options{ReceiveBuffer: 4096})
	if err != nil {
		t.Fatal(err)
	}
	frozen.until("hello")
	frozen.until("snapshot")

	// Many synthetic targets make every tick big.
	targets := make([]string, 1000)
	for i := range targets {
		targets[i] = "00000000-0000-4000-8000-" + strings.Repeat("0", 12-len(itoa(i))) + itoa(i)
	}
	stop := make(chan struct{})
	pubDone := make(chan struct{})
	rounds := &publishedRounds{}
	go func() {
		defer close(pubDone)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				rounds.add(now.UnixMilli())
				publish(e.hub, g.ID, targets, now, true)
			}
		}
	}()
	defer func() { close(stop); <-pubDone }()

	// The good client reads every tick, in order, without a gap, until the frozen one is
	// gone.
	admin := e.login("admin")
	deadline := time.Now().Add(2 * time.Minute)
	r := roundReader{w: good, rounds: rounds, perRound: len(targets)}
	for metricValue(admin, "pingdeck_live_slow_disconnects_total") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the frozen client was not dropped within 2 minutes")
		}
		r.next("")
	}
	for range 3 {
		r.next(" after the drop")
	}
	// The frozen client's connection is over: reading drains what was buffered, then ends.
	if code, err := frozen.conn.CloseCode(time.Now().Add(wsWait)); err != nil || code != live.CloseTooSlow && code != livetest.CloseAbnormal {
		t.Fatalf("frozen client closed with %d (%v), want 4429 (or a cut connection)", code, err)
	}
}

// publishedRounds are the "at" of each round of results published, in order.
type publishedRounds struct {
	mu  sync.Mutex
	ats []int64
}

func (p *publishedRounds) add(at int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ats = append(p.ats, at)
}

// after is the round published after at.
func (p *publishedRounds) after(at int64) (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, found := slices.BinarySearch(p.ats, at)
	if !found || i+1 >= len(p.ats) {
		return 0, false
	}
	return p.ats[i+1], true
}

// roundReader reads results messages and checks that together they hold every
// published round, in order, each in full (a message may end part way into a round).
type roundReader struct {
	w        *ws
	rounds   *publishedRounds
	perRound int
	at       int64 // the round being read
	n        int   // its items so far
}

func (r *roundReader) next(when string) {
	r.w.t.Helper()
	m := r.w.until("results")
	for _, it := range m.Items {
		if it.At == r.at {
			r.n++
			continue
		}
		if r.at != 0 {
			if want, ok := r.rounds.after(r.at); r.n != r.perRound || !ok || it.At != want {
				r.w.t.Fatalf("the good client missed results%s: round %d had %d of %d items, then round %d (want %d)",
					when, r.at, r.n, r.perRound, it.At, want)
			}
		}
		r.at, r.n = it.At, 1
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLiveFrameTooBigIsClosedWith1009(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), liveOptions())
	w := e.mustWS(e.user("alice"), "")
	w.until("hello")
	// The write may fail part way: the server stops reading at the frame's header.
	_ = w.conn.WriteText([]byte(`{"type":"ping","pad":"` + strings.Repeat("x", 1<<20) + `"}`))
	if code := w.closeCode(); code != livetest.CloseMessageTooBig {
		t.Fatalf("1 MB frame: closed with %d, want 1009", code)
	}
}

func TestLiveBadMessagesGetErrors(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), liveOptions())
	w := e.mustWS(e.user("alice"), "")
	w.until("hello")
	for _, msg := range []string{`not json`, `{"type":"dance"}`, `{"type":"resume"}`} {
		if err := w.conn.WriteText([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if m := w.next(); m.Type != "error" || m.Code != "invalid" || m.Message == "" {
			t.Errorf("%s → %s, want an invalid error", msg, m.Raw)
		}
	}
	w.send(map[string]any{"type": "subscribe", "groups": []string{"not-a-uuid", zeroID}})
	for range 2 {
		if m := w.next(); m.Type != "error" || m.Code != "not_found" || m.ID == "" {
			t.Errorf("subscribe to nothing → %s", m.Raw)
		}
	}
}

func TestLiveShutdownClosesWith1001(t *testing.T) {
	// Registered first, so it runs after the server, hub and database are gone: every
	// socket goroutine, the hub's own and the database's have ended.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	e := newEnv(t, sqliteDSN(t), liveOptions())
	alice := e.user("alice")
	a, b := e.mustWS(alice, ""), e.mustWS(alice, "")
	a.until("hello")
	b.until("hello")
	done := make(chan error, 1)
	go func() { done <- e.hub.Shutdown(t.Context()) }()
	for _, w := range []*ws{a, b} {
		if code := w.closeCode(); code != livetest.CloseGoingAway {
			t.Fatalf("closed with %d at shutdown, want 1001", code)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// No new socket once shut down.
	if w, _, err := e.dialWS(alice, "", nil); err == nil {
		if code := w.closeCode(); code != livetest.CloseGoingAway {
			t.Fatalf("a socket opened after shutdown closed with %d, want 1001", code)
		}
	}
}
