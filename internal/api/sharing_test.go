package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/api"
	"pingdeck/internal/groups"
	"pingdeck/internal/live"
)

// recordedEvents is a live.Effects that remembers every call as "Method arg": what the
// changes the store announced do to open streams.
type recordedEvents struct {
	mu    sync.Mutex
	calls []string
	notes []groups.Notification
}

var _ live.Effects = (*recordedEvents)(nil)

func (r *recordedEvents) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recordedEvents) GroupChanged(id string)      { r.add("GroupChanged " + id) }
func (r *recordedEvents) GroupDeleted(id string)      { r.add("GroupDeleted " + id) }
func (r *recordedEvents) AccessChanged(id string)     { r.add("AccessChanged " + id) }
func (r *recordedEvents) DashboardChanged(id string)  { r.add("DashboardChanged " + id) }
func (r *recordedEvents) CredentialRevoked(id string) { r.add("CredentialRevoked " + id) }
func (r *recordedEvents) UserDeleted(id string)       { r.add("UserDeleted " + id) }
func (r *recordedEvents) RightsChanged(id string)     { r.add("RightsChanged " + id) }
func (r *recordedEvents) Notify(n groups.Notification) {
	r.add("Notify " + n.UserID)
	r.mu.Lock()
	r.notes = append(r.notes, n)
	r.mu.Unlock()
}

// take returns the calls so far, matching one of the methods (all when none given), and forgets all.
func (r *recordedEvents) take(methods ...string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		m, _, _ := strings.Cut(c, " ")
		if len(methods) == 0 || slices.Contains(methods, m) {
			out = append(out, c)
		}
	}
	r.calls = nil
	return out
}

func (e *env) userID(t *testing.T, username string) string {
	t.Helper()
	u, err := e.store.UserByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

type share struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	CreatedAt   string `json:"created_at"`
}

type notification struct {
	ID        string  `json:"id"`
	Kind      string  `json:"kind"`
	From      string  `json:"from"`
	GroupID   string  `json:"group_id"`
	GroupName string  `json:"group_name"`
	Message   string  `json:"message"`
	CreatedAt string  `json:"created_at"`
	ReadAt    *string `json:"read_at"`
}

type notificationList struct {
	Notifications []notification `json:"notifications"`
	Unread        int            `json:"unread"`
}

func checkCalls(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: live events %q, want %q", what, got, want)
	}
}

func TestSharing(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		ev := e.events
		alice, carol, dave, admin := e.user("alice"), e.user("carol"), e.user("dave"), e.login("admin")
		carolID := e.userID(t, "carol")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "core routers", "targets": "192.0.2.1"}, 201, &g)
		p := "/api/v1/groups/" + g.ID
		ev.take()

		var sh share
		alice.mustJSON("PUT", p+"/shares/Carol", map[string]any{"role": "viewer"}, 200, &sh)
		if sh.Username != "carol" || sh.Role != "viewer" || sh.CreatedAt == "" {
			t.Fatalf("share = %+v", sh)
		}
		checkCalls(t, "new share", ev.take(), "AccessChanged "+g.ID, "DashboardChanged "+carolID, "Notify "+carolID)
		var notes notificationList
		carol.mustJSON("GET", "/api/v1/notifications", nil, 200, &notes)
		if notes.Unread != 1 || len(notes.Notifications) != 1 {
			t.Fatalf("carol's notifications = %+v", notes)
		}
		n := notes.Notifications[0]
		if n.Kind != "shared" || n.From != "alice" || n.GroupID != g.ID || n.GroupName != "core routers" || n.ReadAt != nil {
			t.Fatalf("share notification = %+v", n)
		}
		if pushed := ev.notes[len(ev.notes)-1]; pushed.ID != n.ID || pushed.FromUsername != "alice" || pushed.GroupName != "core routers" {
			t.Fatalf("the pushed notification %+v is not the stored one %+v", pushed, n)
		}

		// The same grant again is a no-op: no event, no second notification.
		alice.mustJSON("PUT", p+"/shares/carol", map[string]any{"role": "viewer"}, 200, nil)
		checkCalls(t, "repeated share", ev.take())

		var seen group
		carol.mustJSON("GET", p, nil, 200, &seen)
		if seen.Role != "viewer" || len(seen.Targets) != 1 {
			t.Fatalf("carol sees %+v", seen)
		}
		carol.mustError("POST", p+"/targets", map[string]any{"targets": "192.0.2.2"}, 403, "forbidden", "")
		carol.mustError("GET", p+"/shares", nil, 403, "forbidden", "")
		carol.mustError("PUT", p+"/shares/dave", map[string]any{"role": "viewer"}, 403, "forbidden", "")
		dave.mustError("GET", p+"/shares", nil, 404, "not_found", "")
		dave.mustError("PUT", p+"/shares/dave", map[string]any{"role": "editor"}, 404, "not_found", "")

		alice.mustJSON("PUT", p+"/shares/carol", map[string]any{"role": "editor"}, 200, &sh)
		checkCalls(t, "role change", ev.take(), "AccessChanged "+g.ID, "DashboardChanged "+carolID, "Notify "+carolID)
		carol.mustJSON("POST", p+"/targets", map[string]any{"targets": "192.0.2.2"}, 200, nil)
		carol.mustError("PATCH", p, map[string]any{"visibility": "public"}, 403, "forbidden", "")
		carol.mustError("DELETE", p, nil, 403, "forbidden", "")
		admin.mustJSON("PUT", p+"/shares/dave", map[string]any{"role": "viewer"}, 200, nil)

		var list struct{ Shares []share }
		alice.mustJSON("GET", p+"/shares", nil, 200, &list)
		if len(list.Shares) != 2 || list.Shares[0].Username != "carol" || list.Shares[0].Role != "editor" || list.Shares[1].Username != "dave" {
			t.Fatalf("shares = %+v", list.Shares)
		}

		alice.mustError("PUT", p+"/shares/nobody", map[string]any{"role": "viewer"}, 404, "not_found", "username")
		alice.mustError("PUT", p+"/shares/alice", map[string]any{"role": "viewer"}, 400, "invalid", "username")
		alice.mustError("PUT", p+"/shares/carol", map[string]any{"role": "owner"}, 400, "invalid", "role")
		alice.mustError("PUT", p+"/shares/carol", map[string]any{}, 400, "invalid", "role")
		alice.mustError("PUT", p+"/shares/carol", map[string]any{"role": "viewer", "until": "never"}, 400, "invalid", "until")
		ev.take()

		if status, raw, _ := alice.do("DELETE", p+"/shares/carol", nil); status != 204 {
			t.Fatalf("unshare: %d %s", status, raw)
		}
		checkCalls(t, "unshare", ev.take(), "AccessChanged "+g.ID, "DashboardChanged "+carolID)
		carol.mustError("GET", p, nil, 404, "not_found", "")
		alice.mustError("DELETE", p+"/shares/carol", nil, 404, "not_found", "username")
		alice.mustError("DELETE", p+"/shares/nobody", nil, 404, "not_found", "username")
		checkCalls(t, "failed requests", ev.take())
	})
}

func TestPinsAndScopes(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		ev := e.events
		alice, bob := e.user("alice"), e.user("bob")
		bobID := e.userID(t, "bob")
		var own, pub, priv group
		bob.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "bob's"}, 201, &own)
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "public card", "visibility": "public"}, 201, &pub)
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "private card"}, 201, &priv)
		names := func(scope string) []string {
			t.Helper()
			var list groupList
			bob.mustJSON("GET", "/api/v1/groups"+scope, nil, 200, &list)
			var out []string
			for _, g := range list.Groups {
				if g.Pinned {
					g.Name += "*"
				}
				out = append(out, g.Name)
			}
			return out
		}
		check := func(scope string, want ...string) {
			t.Helper()
			if got := names(scope); !slices.Equal(got, want) {
				t.Errorf("bob's %q = %q, want %q", scope, got, want)
			}
		}
		check("?scope=public", "public card")
		check("?scope=dashboard", "bob's")
		check("", "bob's", "public card")
		ev.take()

		pin := "/api/v1/me/pins/" + pub.ID
		if status, raw, _ := bob.do("PUT", pin, nil); status != 204 {
			t.Fatalf("pin: %d %s", status, raw)
		}
		bob.do("PUT", pin, nil) // pinning twice is fine, and changes nothing: no second event
		checkCalls(t, "pin", ev.take(), "DashboardChanged "+bobID)
		check("?scope=dashboard", "bob's", "public card*")
		check("?scope=public", "public card*")
		var g group
		bob.mustJSON("GET", "/api/v1/groups/"+pub.ID, nil, 200, &g)
		if !g.Pinned {
			t.Error("GET of a pinned group says pinned: false")
		}

		bob.mustError("PUT", "/api/v1/me/pins/"+priv.ID, nil, 404, "not_found", "")
		bob.mustError("PUT", "/api/v1/me/pins/"+zeroID, nil, 404, "not_found", "")
		bob.mustError("PUT", "/api/v1/me/pins/nope", nil, 400, "invalid", "group_id")
		bob.mustError("GET", "/api/v1/groups?scope=mine", nil, 400, "invalid", "scope")
		checkCalls(t, "refused pins", ev.take())

		// Alice makes it private: it leaves bob's dashboard; his pin stays but shows nothing.
		alice.mustJSON("PATCH", "/api/v1/groups/"+pub.ID, map[string]any{"visibility": "private"}, 200, nil)
		check("?scope=dashboard", "bob's")
		check("?scope=public")
		bob.mustError("DELETE", pin, nil, 404, "not_found", "")
		// Shared again, the old pin shows again.
		alice.mustJSON("PUT", "/api/v1/groups/"+pub.ID+"/shares/bob", map[string]any{"role": "viewer"}, 200, nil)
		check("?scope=dashboard", "bob's", "public card*")
		if status, _, _ := bob.do("DELETE", pin, nil); status != 204 {
			t.Fatalf("unpin: %d", status)
		}
		check("?scope=dashboard", "bob's")
		if status, _, _ := bob.do("DELETE", pin, nil); status != 204 {
			t.Fatalf("unpinning an unpinned group: %d, want 204", status)
		}
	})
}

func TestLookNotifications(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		ev := e.events
		alice, bob, carol := e.user("alice"), e.user("bob"), e.user("carol")
		var pub, priv group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "public card", "visibility": "public"}, 201, &pub)
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "private card"}, 201, &priv)
		alice.mustJSON("PUT", "/api/v1/groups/"+priv.ID+"/shares/carol", map[string]any{"role": "viewer"}, 200, nil)
		ev.take()

		// A viewer may point anyone who can see the group at it.
		var n notification
		carol.mustJSON("POST", "/api/v1/notifications", map[string]any{"to": "bob", "group_id": pub.ID, "message": " loss on edge-1 \n"}, 201, &n)
		if n.Kind != "look" || n.From != "carol" || n.GroupID != pub.ID || n.GroupName != "public card" || n.Message != "loss on edge-1" || n.ReadAt != nil {
			t.Fatalf("notification = %+v", n)
		}
		checkCalls(t, "look", ev.take(), "Notify "+e.userID(t, "bob"))
		alice.mustJSON("POST", "/api/v1/notifications", map[string]any{"to": "carol", "group_id": priv.ID}, 201, nil)

		carol.mustError("POST", "/api/v1/notifications", map[string]any{"to": "bob", "group_id": priv.ID}, 400, "invalid", "to")
		bob.mustError("POST", "/api/v1/notifications", map[string]any{"to": "carol", "group_id": priv.ID}, 404, "not_found", "")
		bob.mustError("POST", "/api/v1/notifications", map[string]any{"to": "carol", "group_id": zeroID}, 404, "not_found", "")
		bob.mustError("POST", "/api/v1/notifications", map[string]any{"to": "nobody", "group_id": pub.ID}, 404, "not_found", "to")
		bob.mustError("POST", "/api/v1/notifications", map[string]any{"to": "bob", "group_id": pub.ID}, 400, "invalid", "to")
		bob.mustError("POST", "/api/v1/notifications", map[string]any{"group_id": pub.ID}, 400, "invalid", "to")
		bob.mustError("POST", "/api/v1/notifications", map[string]any{"to": "carol"}, 400, "invalid", "group_id")
		bob.mustError("POST", "/api/v1/notifications", map[string]any{"to": "carol", "group_id": "x"}, 400, "invalid", "group_id")
		bob.mustError("POST", "/api/v1/notifications", map[string]any{"to": "carol", "group_id": pub.ID, "message": strings.Repeat("m", 501)}, 400, "invalid", "message")
		bob.mustJSON("POST", "/api/v1/notifications", map[string]any{"to": "carol", "group_id": pub.ID, "message": strings.Repeat("é", 500)}, 201, nil)
		ev.take()

		var list notificationList
		bob.mustJSON("GET", "/api/v1/notifications", nil, 200, &list)
		if list.Unread != 1 || len(list.Notifications) != 1 || list.Notifications[0].ID != n.ID {
			t.Fatalf("bob's notifications = %+v", list)
		}
		carol.mustError("POST", "/api/v1/notifications/"+n.ID+"/read", nil, 404, "not_found", "")
		var read notification
		bob.mustJSON("POST", "/api/v1/notifications/"+n.ID+"/read", nil, 200, &read)
		if read.ReadAt == nil || read.ID != n.ID {
			t.Fatalf("read = %+v", read)
		}
		bob.mustJSON("GET", "/api/v1/notifications?unread=true", nil, 200, &list)
		if list.Unread != 0 || len(list.Notifications) != 0 {
			t.Fatalf("unread after reading = %+v", list)
		}
		bob.mustJSON("GET", "/api/v1/notifications?unread=false", nil, 200, &list)
		if len(list.Notifications) != 1 {
			t.Fatalf("all after reading = %+v", list)
		}
		bob.mustError("GET", "/api/v1/notifications?unread=maybe", nil, 400, "invalid", "unread")
		bob.mustError("POST", "/api/v1/notifications/"+zeroID+"/read", nil, 404, "not_found", "")
		carol.mustJSON("GET", "/api/v1/notifications", nil, 200, &list)
		// shared, look from alice, look from bob; newest first.
		if list.Unread != 3 || len(list.Notifications) != 3 || list.Notifications[0].From != "bob" || list.Notifications[2].Kind != "shared" {
			t.Fatalf("carol's notifications = %+v", list)
		}
		checkCalls(t, "reading", ev.take())
	})
}

func TestUserDelete(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		ev := e.events
		admin, alice, bob := e.login("admin"), e.user("alice"), e.user("bob")
		bobID := e.userID(t, "bob")
		var tok struct{ Token string }
		bob.mustJSON("POST", "/api/v1/tokens", map[string]any{"name": "cli"}, 201, &tok)
		bobToken := e.anon()
		bobToken.bearer = tok.Token
		var g1, g2 group
		bob.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "b1", "targets": "192.0.2.1"}, 201, &g1)
		bob.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "b2"}, 201, &g2)
		bob.mustJSON("PUT", "/api/v1/groups/"+g1.ID+"/shares/alice", map[string]any{"role": "viewer"}, 200, nil)
		ev.take()

		alice.mustError("DELETE", "/api/v1/users/bob", nil, 403, "forbidden", "")
		admin.mustError("DELETE", "/api/v1/users/nobody", nil, 404, "not_found", "username")
		admin.mustError("DELETE", "/api/v1/users/admin", nil, 400, "invalid", "username")
		checkCalls(t, "refused deletions", ev.take())
		if status, raw, _ := admin.do("DELETE", "/api/v1/users/Bob", nil); status != 204 {
			t.Fatalf("delete bob: %d %s", status, raw)
		}
		checkCalls(t, "deletion", ev.take(), "GroupDeleted "+g1.ID, "GroupDeleted "+g2.ID, "UserDeleted "+bobID)

		// Bob's session and token stop working on the very next request.
		bob.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")
		bobToken.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")
		alice.mustError("GET", "/api/v1/groups/"+g1.ID, nil, 404, "not_found", "")
		var list groupList
		admin.mustJSON("GET", "/api/v1/groups?scope=all", nil, 200, &list)
		if len(list.Groups) != 0 {
			t.Fatalf("bob's groups survived him: %+v", list.Groups)
		}
		var users struct{ Users []struct{ Username string } }
		admin.mustJSON("GET", "/api/v1/users", nil, 200, &users)
		if got := fmt.Sprint(users.Users); got != "[{admin} {alice}]" {
			t.Fatalf("users after deletion = %s", got)
		}
		admin.mustError("DELETE", "/api/v1/users/bob", nil, 404, "not_found", "username")
	})
}

func TestNotificationFloodLimited(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{})
	alice, bob, carol := e.user("alice"), e.user("bob"), e.user("carol")
	var g group
	alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "public card", "visibility": "public"}, 201, &g)
	look := map[string]any{"to": "bob", "group_id": g.ID, "message": "look"}
	for range 30 {
		carol.mustJSON("POST", "/api/v1/notifications", look, 201, nil)
	}
	status, raw, resp := carol.do("POST", "/api/v1/notifications", look)
	if status != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("31st notification in a row: %d %s (Retry-After %q), want 429", status, raw, resp.Header.Get("Retry-After"))
	}
	alice.mustJSON("POST", "/api/v1/notifications", look, 201, nil) // others are not held back
	var list notificationList
	bob.mustJSON("GET", "/api/v1/notifications", nil, 200, &list)
	if list.Unread != 31 {
		t.Fatalf("bob has %d unread, want 31 (the refused one not stored)", list.Unread)
	}
}

func TestSendLimiterMemoryIsBounded(t *testing.T) {
	l := api.NewSendLimiterForTest(2, time.Second, 3)
	now := time.Now()
	for i := range 10 {
		if wait := l.Take(fmt.Sprint("user", i), now); wait != 0 {
			t.Fatalf("first send of user%d refused", i)
		}
		if n := l.Len(); n > 3 {
			t.Fatalf("%d senders tracked, bound is 3", n)
		}
	}
	l.Take("x", now)
	l.Take("x", now)
	if wait := l.Take("x", now); wait <= 0 || wait > time.Second {
		t.Fatalf("third send in a burst of 2: wait %v, want (0, 1s]", wait)
	}
	if wait := l.Take("x", now.Add(time.Second)); wait != 0 {
		t.Fatalf("a second later: wait %v, want 0", wait)
	}
}
