package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/live/livetest"
	"pingdeck/internal/wire"

	"github.com/google/uuid"
)

// wsFrame is a live-stream message (PROTOCOL.md) as the e2e tests read it.
type wsFrame = livetest.Message

// hasResultsFor says whether f is a results message with an item of groupID.
func hasResultsFor(f *wsFrame, groupID string) bool {
	return f.Type == "results" && slices.ContainsFunc(f.Items, func(it wire.Item) bool { return it.G == groupID })
}

// wsClient is one open live stream. Its reader goroutine ends when the connection does;
// Cleanup closes the connection and waits for it.
type wsClient struct {
	t      *testing.T
	name   string
	conn   *livetest.Conn
	frames chan wsFrame // bounded; a test that stops reading for long fails (see reader)
	done   chan struct{}
	err    error // why the reader stopped; read after done is closed
}

// dialWS opens the live stream as h's signed-in user.
func (h *httpClient) dialWS(name string) *wsClient {
	h.t.Helper()
	conn, resp, err := h.wsDial(nil, livetest.Options{})
	if err != nil {
		h.t.Fatalf("%s: open the live stream: %v (%s)", name, err, responseText(resp))
	}
	w := &wsClient{t: h.t, name: name, conn: conn, frames: make(chan wsFrame, 4096), done: make(chan struct{})}
	go w.read()
	h.t.Cleanup(func() { conn.Close(); <-w.done })
	if f := w.next("hello", func(f *wsFrame) bool { return true }); f.Type != "hello" {
		h.t.Fatalf("%s: first frame is %q, want hello", name, f.Type)
	}
	return w
}

// wsDial opens the live stream with h's session cookie and the extra header (which may
// be nil).
func (h *httpClient) wsDial(header http.Header, o livetest.Options) (*livetest.Conn, *http.Response, error) {
	req, _ := http.NewRequest("GET", h.base, nil)
	hdr := http.Header{}
	for k, v := range header {
		hdr[k] = v
	}
	for _, c := range h.c.Jar.Cookies(req.URL) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	if o.NetDial == nil {
		o.NetDial = h.dial
	}
	return livetest.Dial(context.Background(), "ws"+strings.TrimPrefix(h.base, "http")+"/api/v1/ws", hdr, o)
}

func responseText(resp *http.Response) string {
	if resp == nil {
		return "no response"
	}
	raw, _ := io.ReadAll(resp.Body)
	return resp.Status + " " + string(raw)
}

func (w *wsClient) read() {
	defer close(w.done)
	for {
		f, err := w.conn.Next(time.Time{}) // until the connection ends
		if err != nil {
			w.err = err
			return
		}
		select {
		case w.frames <- f:
		default:
			w.err = errors.New("test fell more than 4096 frames behind")
			return
		}
	}
}

// next returns the first frame that matches, skipping others, failing after a generous
// deadline (a slow shared test machine, not a latency check).
func (w *wsClient) next(what string, match func(*wsFrame) bool) wsFrame {
	w.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case f := <-w.frames:
			if match(&f) {
				return f
			}
		case <-w.done:
			for len(w.frames) > 0 { // what arrived before the close
				if f := <-w.frames; match(&f) {
					return f
				}
			}
			w.t.Fatalf("%s: stream ended before %s: %v", w.name, what, w.err)
		case <-deadline:
			w.t.Fatalf("%s: no %s within 20s", w.name, what)
		}
	}
}

// none fails if a matching frame arrives within d (or before the stream ends).
func (w *wsClient) none(what string, d time.Duration, match func(*wsFrame) bool) {
	w.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f := <-w.frames:
			if match(&f) {
				w.t.Fatalf("%s: got %s: %+v", w.name, what, f)
			}
		case <-w.done:
			for len(w.frames) > 0 {
				if f := <-w.frames; match(&f) {
					w.t.Fatalf("%s: got %s: %+v", w.name, what, f)
				}
			}
			return
		case <-deadline:
			return
		}
	}
}

// closed waits for the stream to end and returns the close code (0 if it ended otherwise).
func (w *wsClient) closed(what string) int {
	w.t.Helper()
	select {
	case <-w.done:
	case <-time.After(20 * time.Second):
		w.t.Fatalf("%s: stream still open 20s after %s", w.name, what)
	}
	var ce *livetest.CloseError
	if errors.As(w.err, &ce) {
		return ce.Code
	}
	return 0
}

// revoked waits until the stream drops groupID: access_revoked for it, or a 4403 close
// when it was the last group the stream could show.
func (w *wsClient) revoked(groupID string) {
	w.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case f := <-w.frames:
			if f.Type == "access_revoked" && f.ID == groupID {
				return
			}
		case <-w.done:
			for len(w.frames) > 0 {
				if f := <-w.frames; f.Type == "access_revoked" && f.ID == groupID {
					return
				}
			}
			var ce *livetest.CloseError
			if !errors.As(w.err, &ce) || ce.Code != 4403 {
				w.t.Fatalf("%s: stream ended without access_revoked for %s: %v", w.name, groupID, w.err)
			}
			return
		case <-deadline:
			w.t.Fatalf("%s: no access_revoked for %s within 20s", w.name, groupID)
		}
	}
}

func (w *wsClient) send(v any) {
	w.t.Helper()
	if err := w.conn.WriteJSON(v); err != nil {
		w.t.Fatalf("%s: send: %v", w.name, err)
	}
}

// status sends a request and returns the status and body, whatever they are.
func (h *httpClient) status(method, path string, body any) (int, string) {
	h.t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, h.base+path, r)
	resp, err := h.c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// TestSharingStory is the sharing issue's "done when", on the real binary: Alice makes a
// public card, Bob finds it among the public groups and pins it, and it streams on his
// dashboard; Alice shares a private card with Carol as viewer, Carol is notified live,
// subscribes and watches it, cannot add targets; Alice revokes and Carol's stream of it
// stops; Dave cannot learn the private card exists, over HTTP or the stream. Making a
// card private, signing out and deleting an account end the streams they should.
func TestSharingStory(t *testing.T) {
	const adminPW = "admin-password"
	srv := startServer(t, []string{"PINGDECK_DATA_DIR=" + t.TempDir(), "PINGDECK_ADMIN_PASSWORD=" + adminPW,
		"PINGDECK_ALLOW_TARGETS=127.0.0.0/8"}, "--listen", "127.0.0.1:0")
	defer srv.stop()
	admin := srv.client()
	admin.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPW}, 200, nil)
	users := map[string]*httpClient{}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		admin.call("POST", "/api/v1/users", map[string]string{"username": name, "password": name + "-password"}, 201, nil)
		c := srv.client()
		c.call("POST", "/api/v1/auth/login", map[string]string{"username": name, "password": name + "-password"}, 200, nil)
		users[name] = c
	}
	alice, bob, carol, dave := users["alice"], users["bob"], users["carol"], users["dave"]
	type listed struct {
		Groups []struct {
			ID     string `json:"id"`
			Pinned bool   `json:"pinned"`
		} `json:"groups"`
	}
	list := func(c *httpClient, scope string) listed {
		var l listed
		c.call("GET", "/api/v1/groups"+scope, nil, 200, &l)
		return l
	}
	contains := func(l listed, id string) (found, pinned bool) {
		for _, g := range l.Groups {
			if g.ID == id {
				return true, g.Pinned
			}
		}
		return false, false
	}

	// Alice makes a public card; Bob sees it among the public groups and pins it.
	var pub e2eGroup
	alice.call("POST", "/api/v1/groups", map[string]any{"name": "public card", "visibility": "public", "interval": "500ms", "targets": "127.0.5.1"}, 201, &pub)
	if found, pinned := contains(list(bob, "?scope=public"), pub.ID); !found || pinned {
		t.Fatalf("bob's public groups: found %v pinned %v; want found, not pinned", found, pinned)
	}
	bobWS := bob.dialWS("bob")
	bob.call("PUT", "/api/v1/me/pins/"+pub.ID, nil, 204, nil)
	if found, pinned := contains(list(bob, "?scope=dashboard"), pub.ID); !found || !pinned {
		t.Fatalf("bob's dashboard: found %v pinned %v; want the pinned public card", found, pinned)
	}
	bobWS.next("a snapshot of the pinned card", func(f *wsFrame) bool { return f.Type == "snapshot" && f.Group != nil && f.Group.ID == pub.ID })
	bobWS.next("results of the pinned card", func(f *wsFrame) bool { return hasResultsFor(f, pub.ID) })

	// Alice shares a private card with Carol as viewer; Carol is told at once.
	var priv e2eGroup
	alice.call("POST", "/api/v1/groups", map[string]any{"name": "private card", "interval": "500ms", "targets": "127.0.5.2"}, 201, &priv)
	carolWS := carol.dialWS("carol")
	alice.call("PUT", "/api/v1/groups/"+priv.ID+"/shares/carol", map[string]string{"role": "viewer"}, 200, nil)
	note := carolWS.next("the share notification", func(f *wsFrame) bool { return f.Type == "notification" })
	if n := note.Notification; n == nil || n.Kind != "shared" || n.From != "alice" || n.GroupID != priv.ID || n.GroupName != "private card" {
		t.Fatalf("carol's notification = %+v", note.Notification)
	}
	// She watches it next to the public card, so the stream outlives the revocation below
	// (a stream left with no visible group is closed with 4403 instead).
	carolWS.send(map[string]any{"type": "subscribe", "groups": []string{priv.ID, pub.ID}})
	snap := carolWS.next("a snapshot of the shared card", func(f *wsFrame) bool { return f.Type == "snapshot" && f.Group != nil && f.Group.ID == priv.ID })
	if snap.Group.Role != "viewer" {
		t.Errorf("carol's snapshot says role %q, want viewer", snap.Group.Role)
	}
	carolWS.next("results of the shared card", func(f *wsFrame) bool { return hasResultsFor(f, priv.ID) })
	if status, body := carol.status("POST", "/api/v1/groups/"+priv.ID+"/targets", map[string]any{"targets": "127.0.5.3"}); status != 403 {
		t.Fatalf("carol adding a target: %d %s, want 403", status, body)
	}

	// Alice revokes: Carol's stream of the card stops.
	alice.call("DELETE", "/api/v1/groups/"+priv.ID+"/shares/carol", nil, 204, nil)
	revoked := time.Now()
	carolWS.next("access_revoked", func(f *wsFrame) bool { return f.Type == "access_revoked" && f.ID == priv.ID })
	t.Logf("access_revoked reached carol %v after the DELETE answered", time.Since(revoked).Round(time.Millisecond))
	carolWS.none("results after revocation", 3*time.Second, func(f *wsFrame) bool { return hasResultsFor(f, priv.ID) })
	carolWS.next("results of the public card after the revocation", func(f *wsFrame) bool { return hasResultsFor(f, pub.ID) })
	if status, _ := carol.status("GET", "/api/v1/groups/"+priv.ID, nil); status != 404 {
		t.Fatalf("carol after revocation: %d, want 404", status)
	}

	// Dave learns nothing about the private card: 404 exactly like a random id, in no
	// listing, and the stream refuses it exactly like a random id.
	random := uuid.NewString()
	hiddenStatus, hiddenBody := dave.status("GET", "/api/v1/groups/"+priv.ID, nil)
	randomStatus, randomBody := dave.status("GET", "/api/v1/groups/"+random, nil)
	if hiddenStatus != 404 || hiddenStatus != randomStatus || hiddenBody != randomBody {
		t.Fatalf("dave: the private card answers %d %s, a random id %d %s", hiddenStatus, hiddenBody, randomStatus, randomBody)
	}
	for _, scope := range []string{"", "?scope=dashboard", "?scope=public", "?scope=all"} {
		if found, _ := contains(list(dave, scope), priv.ID); found {
			t.Errorf("dave's groups%s list the private card", scope)
		}
	}
	if _, body := dave.status("GET", "/api/v1/notifications", nil); strings.Contains(body, priv.ID) {
		t.Errorf("dave's notifications mention the private card: %s", body)
	}
	if status, _ := dave.status("PUT", "/api/v1/me/pins/"+priv.ID, nil); status != 404 {
		t.Errorf("dave pinning the private card: %d, want 404", status)
	}
	daveWS := dave.dialWS("dave")
	refusal := func(id string) wsFrame {
		daveWS.send(map[string]any{"type": "subscribe", "groups": []string{id}})
		return daveWS.next("an error for "+id, func(f *wsFrame) bool { return f.Type == "error" || (f.Group != nil && f.Group.ID == id) })
	}
	hidden, missing := refusal(priv.ID), refusal(random)
	if hidden.Type != "error" || hidden.Code != "not_found" || hidden.ID != priv.ID {
		t.Fatalf("dave subscribing to the private card: %+v, want error not_found", hidden)
	}
	if missing.Code != hidden.Code || strings.ReplaceAll(missing.Message, random, "ID") != strings.ReplaceAll(hidden.Message, priv.ID, "ID") {
		t.Fatalf("the stream refuses the private card (%+v) unlike a random id (%+v)", hidden, missing)
	}
	daveWS.none("anything about the private card", 2*time.Second, func(f *wsFrame) bool {
		return hasResultsFor(f, priv.ID) || (f.Group != nil && f.Group.ID == priv.ID) || (f.Type != "error" && f.ID == priv.ID)
	})

	// A page on another site cannot open the stream with Dave's cookie.
	if conn, resp, err := dave.wsDial(http.Header{"Origin": {"https://evil.example"}}, livetest.Options{}); err == nil {
		conn.Close()
		t.Fatal("a cross-site WebSocket with a valid cookie was accepted")
	} else if resp == nil || resp.StatusCode != 403 {
		t.Fatalf("cross-site WebSocket: %v (%s), want 403", err, responseText(resp))
	}

	// Signing out and deleting an account end their streams at once.
	carol.call("POST", "/api/v1/auth/logout", nil, 204, nil)
	if code := carolWS.closed("logout"); code != 4401 {
		t.Errorf("carol's stream after logout closed with %d, want 4401", code)
	}
	admin.call("DELETE", "/api/v1/users/dave", nil, 204, nil)
	if code := daveWS.closed("deleting dave"); code != 4401 {
		t.Errorf("dave's stream after his account was deleted closed with %d, want 4401", code)
	}

	// Bob's pinned public card is still streaming through all of this, until Alice makes
	// it private: then it leaves his stream, though his pin stays.
	bobWS.next("more results of the pinned card", func(f *wsFrame) bool { return hasResultsFor(f, pub.ID) })
	alice.call("PATCH", "/api/v1/groups/"+pub.ID, map[string]string{"visibility": "private"}, 200, nil)
	bobWS.revoked(pub.ID)
	bobWS.none("results after the card went private", 2*time.Second, func(f *wsFrame) bool { return hasResultsFor(f, pub.ID) })
	if found, _ := contains(list(bob, "?scope=dashboard"), pub.ID); found {
		t.Error("the card is still on bob's dashboard after it went private")
	}
}
