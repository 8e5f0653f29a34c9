package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/live"
	"pingdeck/internal/live/livetest"
	"pingdeck/internal/ping"
	"pingdeck/internal/wire"
)

// Wire shapes of the live stream, as a browser reads them.
type (
	wsMsg    = livetest.Message
	wsItem   = wire.Item
	wsTarget = wire.LiveTarget
)

// ws is one live-stream socket of a test user.
type ws struct {
	t    *testing.T
	conn *livetest.Conn
}

// wsWait bounds every wait for a message; nothing in these tests is timed tighter.
const wsWait = 30 * time.Second

// dialWS opens the live stream with c's cookie or token; query is appended to the URL.
func (e *env) dialWS(c *client, query string, header http.Header) (*ws, *http.Response, error) {
	return e.dialWSWith(c, query, header, livetest.Options{})
}

func (e *env) dialWSWith(c *client, query string, header http.Header, o livetest.Options) (*ws, *http.Response, error) {
	h := http.Header{}
	for k, v := range header {
		h[k] = v
	}
	if c.bearer != "" {
		h.Set("Authorization", "Bearer "+c.bearer)
	}
	base, _ := url.Parse(e.srv.URL)
	if c.http.Jar != nil {
		for _, ck := range c.http.Jar.Cookies(base) {
			h.Add("Cookie", ck.Name+"="+ck.Value)
		}
	}
	conn, resp, err := livetest.Dial(context.Background(), "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/api/v1/ws"+query, h, o)
	if err != nil {
		return nil, resp, err
	}
	w := &ws{t: e.t, conn: conn}
	e.t.Cleanup(func() { conn.Close() })
	return w, resp, nil
}

// mustWS opens the live stream or fails.
func (e *env) mustWS(c *client, query string) *ws {
	e.t.Helper()
	w, resp, err := e.dialWS(c, query, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		e.t.Fatalf("dial live stream: %v (HTTP %d)", err, status)
	}
	return w
}

// next reads one message.
func (w *ws) next() wsMsg {
	w.t.Helper()
	m, err := w.conn.Next(time.Now().Add(wsWait))
	if err != nil {
		w.t.Fatalf("reading the live stream: %v", err)
	}
	return m
}

// until reads until a message of type typ, failing on any other but results.
func (w *ws) until(typ string) wsMsg {
	w.t.Helper()
	for {
		m := w.next()
		if m.Type == typ {
			return m
		}
		if m.Type != "results" {
			w.t.Fatalf("waiting for %s, got %s", typ, m.Raw)
		}
	}
}

// closeCode reads until the socket closes and returns the close code.
func (w *ws) closeCode() int {
	w.t.Helper()
	code, err := w.conn.CloseCode(time.Now().Add(wsWait))
	if err != nil {
		w.t.Fatal(err)
	}
	if code == livetest.CloseAbnormal {
		w.t.Fatal("socket ended without a close frame")
	}
	return code
}

func (w *ws) send(v any) {
	w.t.Helper()
	if err := w.conn.WriteJSON(v); err != nil {
		w.t.Fatal(err)
	}
}

// publish hands the hub one synthetic result per target, sent at.
func publish(hub *live.Hub, groupID string, targetIDs []string, at time.Time, ok bool) {
	for _, id := range targetIDs {
		r := ping.Result{TargetID: id, GroupID: groupID, SentAt: at, OK: ok, RTT: 1500 * time.Microsecond}
		if !ok {
			r.RTT, r.Err = 0, ping.ErrTimeout
		}
		hub.Publish(r)
	}
}

func ids(g group) []string {
	out := make([]string, len(g.Targets))
	for i, t := range g.Targets {
		out[i] = t.ID
	}
	return out
}

func itoa(i int) string     { return strconv.Itoa(i) }
func uitoa(u uint64) string { return strconv.FormatUint(u, 10) }

// metricValue reads one series' value (summed over labels) from /metrics.
func metricValue(c *client, name string) float64 {
	c.t.Helper()
	_, body, _ := c.do("GET", "/metrics", nil)
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
			fields := strings.Fields(rest)
			v, _ := strconv.ParseFloat(fields[len(fields)-1], 64)
			sum += v
		}
	}
	return sum
}

func groupsNotification(userID string) groups.Notification {
	return groups.Notification{ID: "5b1f2f62-3b9e-4c7e-9a51-2f1d8c3e0a77", UserID: userID, FromUsername: "alice",
		Kind: groups.NotifyLook, GroupID: zeroID, GroupName: "edge", Message: "look", CreatedAt: time.Now()}
}
