package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/auth"
	"pingdeck/internal/live"
)

type meBody struct {
	Username           string `json:"username"`
	IsAdmin            bool   `json:"is_admin"`
	MustChangePassword bool   `json:"must_change_password"`
}

// signIn signs username in with password on a fresh client, expecting status.
func (e *env) signIn(t *testing.T, username, password string, status int) *client {
	t.Helper()
	c := e.anon().in(t)
	c.mustJSON("POST", "/api/v1/auth/login", map[string]string{"username": username, "password": password}, status, nil)
	return c
}

// stillSignedIn checks that c's session works and the stream w opened with it answers.
func stillSignedIn(t *testing.T, c *client, w *ws) {
	t.Helper()
	c.in(t).mustJSON("GET", "/api/v1/me", nil, 200, nil)
	w.send(map[string]any{"type": "ping"})
	w.until("pong")
}

// TestPasswordChangeEndsOtherSessions: changing your password ends every other session
// of yours and closes its streams (4401); the session that changed it, its stream and
// your API tokens go on. Bad input changes nothing.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	o := liveOptions()
	o.accounts = func(a *auth.Options) { a.LoginBurst = 100 } // the subtests sign in wrongly on purpose
	eachEnv(t, o, func(t *testing.T, e *env) {
		here := e.user("alice")
		there := e.login("alice") // another browser
		bob := e.user("bob")
		var tok struct{ Token string }
		here.mustJSON("POST", "/api/v1/tokens", map[string]any{"name": "wall"}, 201, &tok)
		byToken := &client{t: t, base: e.srv.URL, http: &http.Client{Timeout: 30 * time.Second}, bearer: tok.Token, header: http.Header{}}
		wHere, wThere, wToken, wBob := e.mustWS(here, ""), e.mustWS(there, ""), e.mustWS(byToken, ""), e.mustWS(bob, "")
		for _, w := range []*ws{wHere, wThere, wToken, wBob} {
			w.until("hello")
		}

		path := "/api/v1/me/password"
		bad := []struct {
			name, field string
			status      int
			code        string
			body        any
		}{
			{"wrong current password", "current_password", 403, "forbidden", map[string]any{"current_password": "not-my-password", "new_password": "alice-new-pass"}},
			{"no current password", "current_password", 400, "invalid", map[string]any{"new_password": "alice-new-pass"}},
			{"new password too short", "new_password", 400, "invalid", map[string]any{"current_password": "alice-pass", "new_password": "short"}},
			{"new password too long", "new_password", 400, "invalid", map[string]any{"current_password": "alice-pass", "new_password": string(make([]byte, 73))}},
			{"new password is the current one", "new_password", 400, "invalid", map[string]any{"current_password": "alice-pass", "new_password": "alice-pass"}},
			{"unknown field", "password", 400, "invalid", map[string]any{"current_password": "alice-pass", "new_password": "alice-new-pass", "password": "x"}},
		}
		for _, b := range bad {
			t.Run(b.name, func(t *testing.T) {
				here.in(t).mustError("POST", path, b.body, b.status, b.code, b.field)
				stillSignedIn(t, there, wThere)
				e.signIn(t, "alice", "alice-pass", 200)
				e.signIn(t, "alice", "alice-new-pass", 401)
			})
		}

		e.events.take()
		if status, raw, _ := here.do("POST", path, map[string]any{"current_password": "alice-pass", "new_password": "alice-new-pass"}); status != 204 {
			t.Fatalf("password change: %d %s", status, raw)
		}
		there.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")
		if code := wThere.closeCode(); code != live.CloseUnauthenticated {
			t.Fatalf("the other session's stream closed with %d, want 4401", code)
		}
		stillSignedIn(t, here, wHere)
		stillSignedIn(t, byToken, wToken)
		stillSignedIn(t, bob, wBob)
		e.signIn(t, "alice", "alice-pass", 401)
		e.signIn(t, "alice", "alice-new-pass", 200)
		// Every other session ended (the other browser's and those of the sign-ins the
		// subtests made), each announced once, and this one was not.
		ended := e.events.take("CredentialRevoked")
		if len(ended) != 1+len(bad) || slices.Contains(ended, "CredentialRevoked "+sessionOf(t, e, here)) {
			t.Fatalf("sessions announced as ended: %v; want %d, not this one's", ended, 1+len(bad))
		}
	})
}

// TestWrongCurrentPasswordCountsAsFailedSignIn: guessing the current password through
// a stolen session is bounded by the sign-in limits, and spends the same budget.
func TestWrongCurrentPasswordCountsAsFailedSignIn(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{})
	alice := e.user("alice")
	for i := range 5 {
		alice.mustError("POST", "/api/v1/me/password", map[string]any{"current_password": "guess-" + itoa(i), "new_password": "alice-new-pass"}, 403, "forbidden", "current_password")
	}
	got := alice.mustError("POST", "/api/v1/me/password", map[string]any{"current_password": "alice-pass", "new_password": "alice-new-pass"}, 429, "rate_limited", "")
	if got.Error.Details["retry_after_seconds"] == nil {
		t.Fatalf("429 without retry_after_seconds: %+v", got)
	}
	// The same budget: a sign-in from this address (to another account) waits too.
	e.anon().mustError("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword}, 429, "rate_limited", "")
	e.signIn(t, "alice", "alice-new-pass", 429)
}

// TestAdminSetsPassword: an administrator's reset ends every session and stream of the
// user, and their next session can only read /me and choose a new password.
func TestAdminSetsPassword(t *testing.T) {
	eachEnv(t, liveOptions(), func(t *testing.T, e *env) {
		admin := e.login("admin")
		bob, bob2 := e.user("bob"), e.login("bob")
		carol := e.user("carol")
		var tok struct{ Token string }
		bob.mustJSON("POST", "/api/v1/tokens", map[string]any{"name": "script"}, 201, &tok)
		byToken := &client{t: t, base: e.srv.URL, http: &http.Client{Timeout: 30 * time.Second}, bearer: tok.Token, header: http.Header{}}
		w1, w2, wAdmin := e.mustWS(bob, ""), e.mustWS(bob2, ""), e.mustWS(admin, "")
		for _, w := range []*ws{w1, w2, wAdmin} {
			w.until("hello")
		}

		path := "/api/v1/users/bob/password"
		carol.mustError("PUT", path, map[string]any{"new_password": "temporary-1"}, 403, "forbidden", "")
		admin.mustError("PUT", path, map[string]any{"new_password": "short"}, 400, "invalid", "new_password")
		admin.mustError("PUT", path, map[string]any{}, 400, "invalid", "new_password")
		admin.mustError("PUT", path, map[string]any{"new_password": "temporary-1", "must_change": false}, 400, "invalid", "must_change")
		admin.mustError("PUT", "/api/v1/users/nobody/password", map[string]any{"new_password": "temporary-1"}, 404, "not_found", "username")
		admin.mustError("PUT", "/api/v1/users/admin/password", map[string]any{"new_password": "temporary-1"}, 400, "invalid", "username")
		stillSignedIn(t, bob2, w2)
		e.signIn(t, "bob", "temporary-1", 401)

		if status, raw, _ := admin.do("PUT", path, map[string]any{"new_password": "temporary-1"}); status != 204 {
			t.Fatalf("reset: %d %s", status, raw)
		}
		for i, c := range []*client{bob, bob2} {
			c.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")
			if code := []*ws{w1, w2}[i].closeCode(); code != live.CloseUnauthenticated {
				t.Fatalf("bob's stream %d closed with %d, want 4401", i, code)
			}
		}
		stillSignedIn(t, admin, wAdmin)
		stillSignedIn(t, byToken, openStream(t, e, byToken)) // API tokens are not held back
		byToken.mustJSON("GET", "/api/v1/groups", nil, 200, nil)
		e.signIn(t, "bob", "bob-pass", 401)

		// The next session must choose a new password before anything else.
		fresh := e.anon()
		var in struct{ User meBody }
		fresh.mustJSON("POST", "/api/v1/auth/login", map[string]string{"username": "bob", "password": "temporary-1"}, 200, &in)
		var me meBody
		fresh.mustJSON("GET", "/api/v1/me", nil, 200, &me)
		if !in.User.MustChangePassword || !me.MustChangePassword {
			t.Fatalf("after a reset: login says %+v, /me says %+v; want must_change_password", in.User, me)
		}
		held := []struct{ method, path string }{
			{"GET", "/api/v1/groups"}, {"POST", "/api/v1/groups"}, {"GET", "/api/v1/users"},
			{"GET", "/api/v1/tokens"}, {"POST", "/api/v1/tokens"}, {"GET", "/api/v1/notifications"},
		}
		for _, h := range held {
			fresh.mustError(h.method, h.path, map[string]any{"name": "x"}, 403, "password_change_required", "")
		}
		if _, resp, err := e.dialWS(fresh, "", nil); err == nil || resp == nil || resp.StatusCode != 403 {
			t.Fatalf("live stream of a held-back session: err %v resp %v; want 403", err, resp)
		}
		var groups groupList
		byToken.mustJSON("GET", "/api/v1/groups?scope=all", nil, 200, &groups)
		if len(groups.Groups) != 0 {
			t.Fatalf("a held-back session created a group: %+v", groups.Groups)
		}
		fresh.mustError("POST", "/api/v1/me/password", map[string]any{"current_password": "temporary-1", "new_password": "temporary-1"}, 400, "invalid", "new_password")
		fresh.mustJSON("POST", "/api/v1/me/password", map[string]any{"current_password": "temporary-1", "new_password": "bob-chosen-1"}, 204, nil)
		fresh.mustJSON("GET", "/api/v1/me", nil, 200, &me)
		if me.MustChangePassword {
			t.Fatal("must_change_password still set after choosing a new password")
		}
		fresh.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "mine"}, 201, nil)
		e.mustWS(fresh, "").until("hello")

		// Signing out works while held back too.
		held2 := e.anon()
		admin.mustJSON("PUT", path, map[string]any{"new_password": "temporary-2"}, 204, nil)
		held2.mustJSON("POST", "/api/v1/auth/login", map[string]string{"username": "bob", "password": "temporary-2"}, 200, nil)
		held2.mustJSON("POST", "/api/v1/auth/logout", nil, 204, nil)
		held2.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")
	})
}

// openStream opens a stream for c and waits for its hello.
func openStream(t *testing.T, e *env, c *client) *ws {
	t.Helper()
	w := e.mustWS(c, "")
	w.until("hello")
	return w
}

type adminUser struct {
	Username           string     `json:"username"`
	IsAdmin            bool       `json:"is_admin"`
	MustChangePassword bool       `json:"must_change_password"`
	LastSignInAt       *time.Time `json:"last_sign_in_at"`
	Locked             bool       `json:"locked"`
	GroupCount         int        `json:"group_count"`
	TargetCount        int        `json:"target_count"`
	TokenCount         int        `json:"token_count"`
}

func adminUsers(t *testing.T, c *client) map[string]adminUser {
	t.Helper()
	var list struct{ Users []adminUser }
	c.in(t).mustJSON("GET", "/api/v1/users", nil, 200, &list)
	out := map[string]adminUser{}
	for _, u := range list.Users {
		out[u.Username] = u
	}
	return out
}

// TestUserListForAdmins: administrators see each account's last sign-in, lock and what
// it owns; everyone else sees exactly what they saw before (names to share with).
func TestUserListForAdmins(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		admin := e.login("admin")
		before := time.Now().Add(-time.Second)
		bob := e.user("bob")
		admin.mustJSON("POST", "/api/v1/users", map[string]any{"username": "carol", "password": "carol-pass"}, 201, nil)
		bob.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "a", "targets": "192.0.2.1\n192.0.2.2"}, 201, nil)
		bob.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "b", "targets": "192.0.2.3"}, 201, nil)
		bob.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "empty"}, 201, nil)
		bob.mustJSON("POST", "/api/v1/tokens", map[string]any{"name": "t"}, 201, nil)
		for range 5 {
			e.anon().mustError("POST", "/api/v1/auth/login", map[string]string{"username": "carol", "password": "guess"}, 401, "unauthenticated", "")
		}

		got := adminUsers(t, admin)
		b, c := got["bob"], got["carol"]
		if b.GroupCount != 3 || b.TargetCount != 3 || b.TokenCount != 1 || b.LastSignInAt == nil || b.LastSignInAt.Before(before) || b.Locked {
			t.Fatalf("bob = %+v; want 3 groups, 3 targets, 1 token, signed in just now, not locked", b)
		}
		if c.GroupCount != 0 || c.TargetCount != 0 || c.TokenCount != 0 || c.LastSignInAt != nil || !c.Locked {
			t.Fatalf("carol = %+v; want nothing owned, never signed in, locked", c)
		}
		admin.mustJSON("POST", "/api/v1/users/carol/unlock", nil, 204, nil)
		if adminUsers(t, admin)["carol"].Locked {
			t.Fatal("carol still locked after unlock")
		}

		var plain struct{ Users []map[string]any }
		bob.mustJSON("GET", "/api/v1/users", nil, 200, &plain)
		for _, u := range plain.Users {
			var keys []string
			for k := range u {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, []string{"created_at", "display_name", "id", "is_admin", "username"}) {
				t.Fatalf("a non-admin sees %v of %v", keys, u["username"])
			}
		}
	})
}

// TestAdminFlag: administrators make others administrators and take it back; the last
// administrator keeps the flag; others get 403 and change nothing.
func TestAdminFlag(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		admin, bob := e.login("admin"), e.user("bob")
		bob.mustError("PATCH", "/api/v1/users/bob", map[string]any{"is_admin": true}, 403, "forbidden", "")
		admin.mustError("PATCH", "/api/v1/users/bob", map[string]any{}, 400, "invalid", "is_admin")
		admin.mustError("PATCH", "/api/v1/users/bob", map[string]any{"is_admin": "yes"}, 400, "invalid", "is_admin")
		admin.mustError("PATCH", "/api/v1/users/bob", map[string]any{"is_admin": true, "username": "root"}, 400, "invalid", "username")
		admin.mustError("PATCH", "/api/v1/users/nobody", map[string]any{"is_admin": true}, 404, "not_found", "username")
		got := admin.mustError("PATCH", "/api/v1/users/admin", map[string]any{"is_admin": false}, 409, "conflict", "is_admin")
		if want := "last administrator"; !strings.Contains(got.Error.Message, want) {
			t.Fatalf("message %q does not say %q", got.Error.Message, want)
		}
		if u := adminUsers(t, admin); u["bob"].IsAdmin || !u["admin"].IsAdmin {
			t.Fatalf("refused changes changed something: %+v", u)
		}

		var out meBody
		admin.mustJSON("PATCH", "/api/v1/users/bob", map[string]any{"is_admin": true}, 200, &out)
		if !out.IsAdmin || out.Username != "bob" {
			t.Fatalf("PATCH answered %+v", out)
		}
		bob.mustJSON("POST", "/api/v1/users", map[string]any{"username": "carol", "password": "carol-pass"}, 201, nil)
		admin.mustJSON("PATCH", "/api/v1/users/admin", map[string]any{"is_admin": false}, 200, nil) // bob is one now
		admin.mustError("POST", "/api/v1/users", map[string]any{"username": "dave", "password": "dave-pass"}, 403, "forbidden", "")
		admin.mustError("GET", "/api/v1/users/x", nil, 405, "method_not_allowed", "")
		bob.mustError("PATCH", "/api/v1/users/bob", map[string]any{"is_admin": false}, 409, "conflict", "is_admin")

		// Two administrators taking the flag from each other at once: one wins.
		bob.mustJSON("PATCH", "/api/v1/users/admin", map[string]any{"is_admin": true}, 200, nil)
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, p := range []struct {
			c    *client
			whom string
		}{{admin, "bob"}, {bob, "admin"}} {
			wg.Go(func() {
				status, _, _ := p.c.do("PATCH", "/api/v1/users/"+p.whom, map[string]any{"is_admin": false})
				codes[i] = status
			})
		}
		wg.Wait()
		slices.Sort(codes)
		if codes[0] != 200 || codes[1] != 409 && codes[1] != 403 {
			t.Fatalf("concurrent demotions answered %v; want one 200 and one refusal", codes)
		}
		admins := 0
		for _, u := range adminUsersAs(t, e) {
			if u.IsAdmin {
				admins++
			}
		}
		if admins != 1 {
			t.Fatalf("%d administrators left, want 1", admins)
		}
	})
}

// adminUsersAs reads the user list straight from the store (whoever is admin now).
func adminUsersAs(t *testing.T, e *env) []adminUser {
	t.Helper()
	users, err := e.accounts.ListUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]adminUser, len(users))
	for i, u := range users {
		out[i] = adminUser{Username: u.Username, IsAdmin: u.IsAdmin}
	}
	return out
}

// sessionOf is the ID of c's session.
func sessionOf(t *testing.T, e *env, c *client) string {
	t.Helper()
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "pingdeck_session" {
			return auth.SessionID(ck.Value)
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// TestDemotedAdminStreamsSeeWithTheNewRights: an administrator's open stream of another
// user's private group does not outlive the administrator flag; the socket closes with
// 1012 and the reconnected one no longer finds the group.
func TestDemotedAdminStreamsSeeWithTheNewRights(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), liveOptions())
	admin, bob := e.login("admin"), e.user("bob")
	carol := e.user("carol")
	admin.mustJSON("PATCH", "/api/v1/users/carol", map[string]any{"is_admin": true}, 200, nil)
	var private struct {
		ID string `json:"id"`
	}
	bob.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "bob's", "targets": "192.0.2.3"}, 201, &private)

	cw := openStream(t, e, carol)
	cw.send(map[string]any{"type": "subscribe", "groups": []string{private.ID}})
	if m := cw.until("snapshot"); m.Group.ID != private.ID {
		t.Fatalf("an administrator following bob's private group: %s", m.Raw)
	}
	admin.mustJSON("PATCH", "/api/v1/users/carol", map[string]any{"is_admin": false}, 200, nil)
	if code := cw.closeCode(); code != 1012 {
		t.Fatalf("carol's stream closed with %d after she stopped being an administrator, want 1012", code)
	}
	again := openStream(t, e, carol)
	again.send(map[string]any{"type": "subscribe", "groups": []string{private.ID}})
	if m := again.next(); m.Type != "error" || m.Code != "not_found" || m.ID != private.ID {
		t.Fatalf("a demoted administrator subscribing to bob's private group: %s", m.Raw)
	}
	admin.mustJSON("PATCH", "/api/v1/users/carol", map[string]any{"is_admin": false}, 200, nil) // no change: nothing closes
	again.send(map[string]any{"type": "ping"})
	if m := again.until("pong"); m.Type != "pong" {
		t.Fatalf("a no-op PATCH disturbed the stream: %s", m.Raw)
	}
}
