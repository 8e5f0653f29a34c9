package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/groups"
)

// groupEndpoint is one operation on a group, for the access tests. In path and body,
// {g} stands for the group's id, {t} for one of its targets, and {from} and {to} for
// the last two minutes (unix seconds).
type groupEndpoint struct {
	method, path string
	body         any
	needs        groups.Action
}

// groupEndpoints is every API operation that names a group. A new one belongs here.
var groupEndpoints = []groupEndpoint{
	{method: "GET", path: "/api/v1/groups/{g}", needs: groups.ActionView},
	{method: "PATCH", path: "/api/v1/groups/{g}", body: map[string]any{"name": "hijacked"}, needs: groups.ActionEdit},
	{method: "PATCH", path: "/api/v1/groups/{g}", body: map[string]any{"paused": true}, needs: groups.ActionEdit},
	{method: "PATCH", path: "/api/v1/groups/{g}", body: map[string]any{"visibility": "public"}, needs: groups.ActionManage},
	{method: "DELETE", path: "/api/v1/groups/{g}", needs: groups.ActionManage},
	{method: "POST", path: "/api/v1/groups/{g}/targets", body: map[string]any{"targets": "192.0.2.99"}, needs: groups.ActionEdit},
	{method: "PATCH", path: "/api/v1/groups/{g}/targets/{t}", body: map[string]any{"paused": true}, needs: groups.ActionEdit},
	{method: "DELETE", path: "/api/v1/groups/{g}/targets/{t}", needs: groups.ActionEdit},
	{method: "POST", path: "/api/v1/groups/{g}/prune", body: map[string]any{"action": "remove", "min_loss": 0.01}, needs: groups.ActionEdit},
	{method: "GET", path: "/api/v1/groups/{g}/shares", needs: groups.ActionManage},
	{method: "PUT", path: "/api/v1/groups/{g}/shares/mallory", body: map[string]any{"role": "editor"}, needs: groups.ActionManage},
	{method: "DELETE", path: "/api/v1/groups/{g}/shares/carol", needs: groups.ActionManage},
	{method: "PUT", path: "/api/v1/me/pins/{g}", needs: groups.ActionView},
	{method: "DELETE", path: "/api/v1/me/pins/{g}", needs: groups.ActionView},
	{method: "POST", path: "/api/v1/notifications", body: map[string]any{"to": "carol", "group_id": "{g}", "message": "look"}, needs: groups.ActionView},
	{method: "GET", path: "/api/v1/groups/{g}/report?from={from}&range=120s", needs: groups.ActionView},
	{method: "GET", path: "/api/v1/groups/{g}/targets/{t}/samples?from={from}&to={to}", needs: groups.ActionView},
	// PUT /api/v1/groups/{id} is not here: a client-chosen id that is taken answers 409
	// to everyone (ids are global), which reveals only what the caller already knew.
}

func (ep groupEndpoint) name() string { return ep.method + " " + ep.path + fmt.Sprint(ep.body) }

// request fills in the group and target ids.
func (ep groupEndpoint) request(groupID, targetID string) (path string, body any) {
	now := time.Now().Unix()
	r := strings.NewReplacer("{g}", groupID, "{t}", targetID,
		"{from}", strconv.FormatInt(now-120, 10), "{to}", strconv.FormatInt(now, 10))
	path = r.Replace(ep.path)
	if ep.body != nil {
		raw, _ := json.Marshal(ep.body)
		body = r.Replace(string(raw))
	}
	return path, body
}

// accessFixture is alice's private group shared with carol (viewer) and erin (editor),
// with mallory, bob and dave as bystanders.
type accessFixture struct {
	e                        *env
	alice, carol, erin, dave *client
	group, target            string
	users                    []string
	allowedForRole           map[groups.Role]bool
}

func newAccessFixture(t *testing.T, e *env, vis string) *accessFixture {
	t.Helper()
	f := &accessFixture{e: e, alice: e.user("alice"), carol: e.user("carol"), erin: e.user("erin"), dave: e.user("dave")}
	e.user("mallory")
	f.users = []string{"alice", "carol", "erin", "dave", "mallory"}
	var g group
	f.alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "core", "visibility": vis, "targets": "192.0.2.1, 192.0.2.2"}, 201, &g)
	f.group, f.target = g.ID, g.Targets[0].ID
	f.alice.mustJSON("PUT", "/api/v1/groups/"+g.ID+"/shares/carol", map[string]any{"role": "viewer"}, 200, nil)
	f.alice.mustJSON("PUT", "/api/v1/groups/"+g.ID+"/shares/erin", map[string]any{"role": "editor"}, 200, nil)
	return f
}

// state is everything a request about the group could change, as a comparable string.
func (f *accessFixture) state(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	ids := map[string]string{}
	for _, name := range f.users {
		ids[name] = f.e.userID(t, name)
	}
	v, err := f.e.store.GroupFor(ctx, f.group, ids["alice"])
	if err != nil {
		t.Fatalf("the group is gone: %v", err)
	}
	targets, _ := f.e.store.Targets(ctx, f.group)
	shares, _ := f.e.store.Shares(ctx, f.group)
	fmt.Fprintf(&b, "group %+v\ntargets %+v\nshares %+v\n", *v.Group, targets, shares)
	for _, name := range f.users {
		dash, _ := f.e.store.DashboardGroupIDs(ctx, ids[name], false)
		notes, unread, _ := f.e.store.Notifications(ctx, ids[name], false, 1000)
		fmt.Fprintf(&b, "%s: dashboard %v, %d notifications, %d unread\n", name, dash, len(notes), unread)
	}
	return b.String()
}

// TestNoAccessMeansNotFound: for every group endpoint, a user who cannot see a private
// group gets 404 — byte for byte the answer for a group that does not exist — and
// nothing changes.
func TestNoAccessMeansNotFound(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		f := newAccessFixture(t, e, "private")
		admin := e.login("admin")
		for _, ep := range groupEndpoints {
			t.Run(ep.name(), func(t *testing.T) {
				before := f.state(t)
				path, body := ep.request(f.group, f.target)
				status, got, _ := f.dave.in(t).do(ep.method, path, body)
				if status != 404 {
					t.Fatalf("stranger: %d %s, want 404", status, got)
				}
				if after := f.state(t); after != before {
					t.Fatalf("a refused request changed something:\nbefore %s\nafter %s", before, after)
				}
				// Guessing: a random group id (and target id) answers exactly the same.
				randPath, randBody := ep.request(uuid.NewString(), uuid.NewString())
				for _, who := range []*client{f.dave, admin} {
					status2, got2, _ := who.in(t).do(ep.method, randPath, randBody)
					if status2 != 404 || string(got2) != string(got) {
						t.Fatalf("a random id answers %d %s; a hidden group answers %d %s", status2, got2, status, got)
					}
				}
			})
		}
		// Nor does the group turn up in any listing.
		for _, scope := range []string{"", "?scope=dashboard", "?scope=public", "?scope=all"} {
			_, raw, _ := f.dave.do("GET", "/api/v1/groups"+scope, nil)
			if strings.Contains(string(raw), f.group) || strings.Contains(string(raw), `"core"`) {
				t.Errorf("GET /api/v1/groups%s shows the hidden group to a stranger: %s", scope, raw)
			}
		}
		_, raw, _ := f.dave.do("GET", "/api/v1/notifications", nil)
		if strings.Contains(string(raw), f.group) {
			t.Errorf("a stranger's notifications mention the group: %s", raw)
		}
	})
}

// TestRoleTooLowMeansForbidden: on a group they can see, viewers (by share, or anyone on
// a public group) and editors get 403 for what their role does not allow, and nothing
// changes; what it does allow works.
func TestRoleTooLowMeansForbidden(t *testing.T) {
	for _, vis := range []string{"private", "public"} {
		t.Run(vis, func(t *testing.T) {
			eachEnv(t, options{}, func(t *testing.T, e *env) {
				f := newAccessFixture(t, e, vis)
				actors := []struct {
					name   string
					c      *client
					role   groups.Role
					public bool // only on a public group
				}{
					{"viewer by share", f.carol, groups.RoleViewer, false},
					{"editor", f.erin, groups.RoleEditor, false},
					{"anyone on a public group", f.dave, groups.RoleViewer, true},
				}
				for _, a := range actors {
					if a.public && vis != "public" {
						continue
					}
					for _, ep := range groupEndpoints {
						if a.role.Can(ep.needs) && ep.method != "GET" {
							continue // allowed changes are tested where they are built; here they would disturb the other rows
						}
						t.Run(a.name+" "+ep.name(), func(t *testing.T) {
							before := f.state(t)
							path, body := ep.request(f.group, f.target)
							status, got, _ := a.c.in(t).do(ep.method, path, body)
							if a.role.Can(ep.needs) {
								if status != 200 {
									t.Fatalf("allowed for %s: %d %s", a.role, status, got)
								}
								return
							}
							if status != 403 {
								t.Fatalf("%s: %d %s, want 403", a.role, status, got)
							}
							if after := f.state(t); after != before {
								t.Fatalf("a refused request changed something:\nbefore %s\nafter %s", before, after)
							}
						})
					}
				}
			})
		})
	}
}

// TestCrossOriginStateChangesRefused: every state-changing request a browser sends from
// another origin is refused with the owner's valid cookie, before it changes anything.
func TestCrossOriginStateChangesRefused(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{origin: []string{"https://ops.example"}})
	f := newAccessFixture(t, e, "private")
	for _, headers := range []map[string]string{
		{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example"}, // an older browser: no Sec-Fetch-Site
		{"Sec-Fetch-Site": "same-site"},    // a sibling subdomain is another origin too
	} {
		for _, ep := range append(groupEndpoints, groupEndpoint{method: "DELETE", path: "/api/v1/users/mallory"},
			groupEndpoint{method: "POST", path: "/api/v1/auth/logout"}) {
			if ep.method == "GET" {
				continue
			}
			t.Run(fmt.Sprint(headers)+" "+ep.name(), func(t *testing.T) {
				owner := f.alice.in(t)
				if ep.path == "/api/v1/users/mallory" {
					owner = e.login("admin").in(t)
				}
				owner.header = http.Header{}
				for k, v := range headers {
					owner.header.Set(k, v)
				}
				before := f.state(t)
				path, body := ep.request(f.group, f.target)
				owner.mustError(ep.method, path, body, 403, "forbidden", "")
				if after := f.state(t); after != before {
					t.Fatalf("a cross-origin request changed something:\nbefore %s\nafter %s", before, after)
				}
			})
		}
	}
	f.alice.mustJSON("GET", "/api/v1/me", nil, 200, nil) // and the session is still alive
	f.alice.header.Set("Origin", "https://ops.example")
	f.alice.mustJSON("PUT", "/api/v1/groups/"+f.group+"/shares/dave", map[string]any{"role": "viewer"}, 200, nil)
}

// TestLoginBruteForceLimited: guessing one user's password is limited however many
// addresses the guesses come from, and one address is limited however many usernames it
// tries; a spoofed X-Forwarded-For from an untrusted client does not reset either.
func TestLoginBruteForceLimited(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{trusted: []string{"127.0.0.1", "::1"}})
	e.user("alice")
	from := func(ip string) *client {
		c := e.anon()
		c.header.Set("X-Forwarded-For", ip)
		return c
	}
	login := func(c *client, user, pw string) (int, *http.Response) {
		status, _, resp := c.do("POST", "/api/v1/auth/login", map[string]string{"username": user, "password": pw})
		return status, resp
	}
	for i := range 5 {
		if status, _ := login(from(fmt.Sprintf("203.0.113.%d", i+1)), "alice", "guess"); status != 401 {
			t.Fatalf("guess %d: %d", i, status)
		}
	}
	status, resp := login(from("203.0.113.99"), "ALICE ", "alice-pass")
	if status != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("alice's right password from a fresh address after 5 guesses: %d (Retry-After %q), want 429",
			status, resp.Header.Get("Retry-After"))
	}
	if status, _ := login(from("203.0.113.99"), "admin", adminPassword); status != 200 {
		t.Fatalf("another user from that address: %d, want 200", status)
	}

	// One address spraying usernames.
	sprayer := from("198.51.100.7")
	for i := range 5 {
		login(sprayer, fmt.Sprintf("user%d", i), "guess")
	}
	if status, _ := login(sprayer, "admin", adminPassword); status != 429 {
		t.Fatalf("the right password from an address that sprayed 5 usernames: %d, want 429", status)
	}

	// Without a trusted proxy, X-Forwarded-For is the client's own claim and ignored.
	direct := newEnv(t, sqliteDSN(t), options{})
	for i := range 6 {
		c := direct.anon()
		c.header.Set("X-Forwarded-For", fmt.Sprintf("192.0.2.%d", i+1))
		status, _ = login(c, fmt.Sprintf("guess%d", i), "guess")
	}
	if status != 429 {
		t.Fatalf("rotating a spoofed X-Forwarded-For: 6th guess %d, want 429", status)
	}
}

// TestRevokedCredentialsStopAtOnce: a deleted API token, a signed-out session (even a
// copy of its cookie) and a deleted user's session and token fail on the very next request.
func TestRevokedCredentialsStopAtOnce(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		admin, bob := e.login("admin"), e.user("bob")
		token := func(c *client) (*client, string) {
			var tok struct{ ID, Token string }
			c.mustJSON("POST", "/api/v1/tokens", map[string]any{"name": "cli"}, 201, &tok)
			b := e.anon()
			b.bearer = tok.Token
			b.mustJSON("GET", "/api/v1/me", nil, 200, nil)
			return b, tok.ID
		}
		bearer, id := token(bob)
		admin.mustError("DELETE", "/api/v1/tokens/"+id, nil, 404, "not_found", "") // not admin's token
		bearer.mustJSON("GET", "/api/v1/groups", nil, 200, nil)
		if status, _, _ := bob.do("DELETE", "/api/v1/tokens/"+id, nil); status != 204 {
			t.Fatalf("revoke: %d", status)
		}
		bearer.mustError("GET", "/api/v1/groups", nil, 401, "unauthenticated", "")
		bearer.mustError("POST", "/api/v1/groups", map[string]any{"name": "after revoke"}, 401, "unauthenticated", "")

		// A copy of a signed-out session's cookie is dead too.
		copyOf := func(c *client) *client {
			cp := e.anon()
			u, _ := http.NewRequest("GET", e.srv.URL, nil)
			cp.http.Jar.SetCookies(u.URL, c.http.Jar.Cookies(u.URL))
			return cp
		}
		stolen := copyOf(bob)
		stolen.mustJSON("GET", "/api/v1/me", nil, 200, nil)
		bob.do("POST", "/api/v1/auth/logout", nil)
		stolen.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")

		// Deleting a user ends their sessions and tokens between two of their requests.
		bob = e.login("bob")
		bearer, _ = token(bob)
		bob.mustJSON("GET", "/api/v1/me", nil, 200, nil)
		admin.do("DELETE", "/api/v1/users/bob", nil)
		bob.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")
		bearer.mustError("GET", "/api/v1/me", nil, 401, "unauthenticated", "")
		if _, err := e.store.UserByUsername(context.Background(), "bob"); err == nil {
			t.Fatal("bob still exists")
		}
	})
}
