package api_test

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"pingdeck/internal/groups"
	"pingdeck/internal/live"
	"pingdeck/internal/ping"
)

// Wire shapes of the live stream, as a browser reads them.
type wsSample struct {
	At  int64    `json:"at"`
	OK  bool     `json:"ok"`
	RTT *float64 `json:"rtt_ms"`
}

type wsTarget struct {
	ID      string     `json:"id"`
	Address string     `json:"address"`
	IP      *string    `json:"ip"`
	Paused  bool       `json:"paused"`
	State   string     `json:"state"`
	Last    *wsSample  `json:"last"`
	Loss    *float64   `json:"loss_1m"`
	Recent  []wsSample `json:"recent"`
}

type wsGroup struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Role        string     `json:"role"`
	Visibility  string     `json:"visibility"`
	Paused      bool       `json:"paused"`
	Pinned      bool       `json:"pinned"`
	TargetCount int        `json:"target_count"`
	IntervalMs  int64      `json:"interval_ms"`
	Targets     []wsTarget `json:"targets"`
	Owner       struct {
		Username string `json:"username"`
	} `json:"owner"`
}

type wsItem struct {
	G   string   `json:"g"`
	T   string   `json:"t"`
	At  int64    `json:"at"`
	OK  bool     `json:"ok"`
	RTT *float64 `json:"rtt_ms"`
	Err string   `json:"err"`
}

type wsMsg struct {
	Type        string   `json:"type"`
	Seq         uint64   `json:"seq"`
	Items       []wsItem `json:"items"`
	Group       *wsGroup `json:"group"`
	ID          string   `json:"id"`
	Code        string   `json:"code"`
	Message     string   `json:"message"`
	ResumeToken string   `json:"resume_token"`
	ServerTime  string   `json:"server_time"`
	User        *struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		IsAdmin  bool   `json:"is_admin"`
	} `json:"user"`
	Notification *struct {
		ID      string `json:"id"`
		Kind    string `json:"kind"`
		From    string `json:"from"`
		GroupID string `json:"group_id"`
		Message string `json:"message"`
	} `json:"notification"`
	raw string
}

// ws is one live-stream socket of a test user.
type ws struct {
	t    *testing.T
	conn *websocket.Conn
}

// wsWait bounds every wait for a message; nothing in these tests is timed tighter.
const wsWait = 30 * time.Second

// dialWS opens the live stream with c's cookie or token; query is appended to the URL.
func (e *env) dialWS(c *client, query string, header http.Header) (*ws, *http.Response, error) {
	return e.dialWSWith(c, query, header, nil)
}

func (e *env) dialWSWith(c *client, query string, header http.Header, netDial func(network, addr string) (net.Conn, error)) (*ws, *http.Response, error) {
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
	d := websocket.Dialer{HandshakeTimeout: wsWait, NetDial: netDial}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/api/v1/ws"+query, h)
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
	_ = w.conn.SetReadDeadline(time.Now().Add(wsWait))
	_, data, err := w.conn.ReadMessage()
	if err != nil {
		w.t.Fatalf("reading the live stream: %v", err)
	}
	var m wsMsg
	if err := json.Unmarshal(data, &m); err != nil {
		w.t.Fatalf("message is not JSON: %v: %s", err, data)
	}
	m.raw = string(data)
	return m
}

// until reads until a message of type typ, failing on any message rejected by skip.
func (w *ws) until(typ string) wsMsg {
	w.t.Helper()
	for {
		m := w.next()
		if m.Type == typ {
			return m
		}
		if m.Type != "results" {
			w.t.Fatalf("waiting for %s, got %s", typ, m.raw)
		}
	}
}

// closeCode reads until the socket closes and returns the close code.
func (w *ws) closeCode() int {
	w.t.Helper()
	_ = w.conn.SetReadDeadline(time.Now().Add(wsWait))
	for {
		_, _, err := w.conn.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			w.t.Fatalf("socket ended without a close frame: %v", err)
		}
	}
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

// smallReceiveBuffer dials with a 4 KiB socket receive buffer, so a client that stops
// reading pushes back on the server quickly.
func smallReceiveBuffer(network, addr string) (net.Conn, error) {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	return d.Dial(network, addr)
}

func groupsNotification(userID string) groups.Notification {
	return groups.Notification{ID: "5b1f2f62-3b9e-4c7e-9a51-2f1d8c3e0a77", UserID: userID, FromUsername: "alice",
		Kind: groups.NotifyLook, GroupID: zeroID, GroupName: "edge", Message: "look", CreatedAt: time.Now()}
}
