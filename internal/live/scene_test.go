package live

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/live/livetest"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scene is a running hub on a real SQLite store, served over real sockets by an
// httptest server: an owner with one public group, and a viewer who may follow it.
type scene struct {
	t      *testing.T
	st     *store.Store
	hub    *Hub
	srv    *httptest.Server
	owner  *auth.User
	viewer *auth.User
	group  *groups.Group
	users  map[string]*auth.User
}

// newScene starts a hub with o (Store and Credentials filled in) whose
// public group has n targets. Everything stops when the test ends.
func newScene(t *testing.T, o Options, n int) *scene {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/live.db", store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	accounts := auth.NewService(st, auth.Options{BcryptCost: bcrypt.MinCost})
	s := &scene{t: t, st: st, users: map[string]*auth.User{}}
	for _, name := range []string{"owner", "viewer"} {
		u, err := accounts.CreateUser(ctx, auth.NewUser{Username: name, Password: name + "-password"})
		if err != nil {
			t.Fatal(err)
		}
		s.users[u.ID] = u
	}
	for _, u := range s.users {
		if u.Username == "owner" {
			s.owner = u
		} else {
			s.viewer = u
		}
	}
	s.group = s.makeGroup(s.owner.ID, "public", n, time.Now())
	o.Store, o.Credentials = st, accounts
	if s.hub, err = NewHub(o); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { s.hub.Run(runCtx); close(ran) }()
	t.Cleanup(func() { stop(); <-ran })
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := s.users[r.URL.Query().Get("as")]
		if u == nil {
			http.Error(w, "who?", http.StatusUnauthorized)
			return
		}
		if err := s.hub.ServeWS(w, r, Viewer{UserID: u.ID, Username: u.Username}); err != nil {
			http.Error(w, err.Error(), http.StatusTooManyRequests)
		}
	}))
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.hub.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
	})
	return s
}

// makeGroup stores a public group of n targets (192.0.2.x and beyond, never probed here).
func (s *scene) makeGroup(ownerID, name string, n int, created time.Time) *groups.Group {
	s.t.Helper()
	g := &groups.Group{ID: uuid.NewString(), OwnerID: ownerID, Name: name, Visibility: groups.Public,
		Interval: 200 * time.Millisecond, Timeout: time.Second, PacketSize: 56, CreatedAt: created, UpdatedAt: created}
	for i := range n {
		ip := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		g.Targets = append(g.Targets, groups.Target{ID: uuid.NewString(), Address: ip.String(), IP: ip, CreatedAt: created})
	}
	if _, err := s.st.CreateGroup(context.Background(), g, store.Quota{}); err != nil {
		s.t.Fatal(err)
	}
	return g
}

// publish hands the hub one result for every target of g.
func (s *scene) publish(g *groups.Group, at time.Time) {
	for _, tg := range g.Targets {
		s.hub.Publish(ping.Result{GroupID: g.ID, TargetID: tg.ID, SentAt: at, OK: true, RTT: 1234 * time.Microsecond})
	}
}

// dialOptions shape a test socket.
type dialOptions struct {
	query   string // appended to the URL
	recvBuf int    // the peer's TCP receive buffer, when set (a slow reader's)
}

// dial opens the stream as u.
func (s *scene) dial(u *auth.User, o dialOptions) (*livetest.Conn, *http.Response, error) {
	url := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/?as=" + u.ID + o.query
	return livetest.Dial(context.Background(), url, nil, livetest.Options{ReceiveBuffer: o.recvBuf})
}

// mustDial opens the stream as u and reads its hello.
func (s *scene) mustDial(u *auth.User, o dialOptions) *livetest.Conn {
	s.t.Helper()
	conn, resp, err := s.dial(u, o)
	if err != nil {
		s.t.Fatalf("dial: %v (%v)", err, resp)
	}
	s.t.Cleanup(func() { conn.Close() })
	if m := readMsg(s.t, conn); m.Type != "hello" {
		s.t.Fatalf("first message %s, want hello", m.Raw)
	}
	return conn
}

// serverSide is the hub's client for the only socket of u. Call it after mustDial: the
// hub registers a client before it queues its hello.
func (s *scene) serverSide(u *auth.User) *client {
	s.t.Helper()
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	for c := range s.hub.clients {
		if c.viewer.UserID == u.ID {
			return c
		}
	}
	s.t.Fatalf("no socket of %s at the hub", u.Username)
	return nil
}

// msg is a server message as a browser reads it.
type msg = livetest.Message

func readMsg(t *testing.T, conn *livetest.Conn) msg {
	t.Helper()
	m, err := conn.Next(time.Now().Add(10 * time.Second))
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

// closeCode reads until the server closes the socket and returns its close code
// (1006 when the connection ended without one).
func closeCode(t *testing.T, conn *livetest.Conn, within time.Duration) int {
	t.Helper()
	code, err := conn.CloseCode(time.Now().Add(within))
	if err != nil {
		t.Fatalf("after %s: %v", within, err)
	}
	return code
}

func send(t *testing.T, conn *livetest.Conn, v any) {
	t.Helper()
	if err := conn.WriteJSON(v); err != nil {
		t.Fatal(err)
	}
}

// setWriteBuffer fixes the server side's TCP send buffer (no autotuning), so that a
// peer that reads slowly holds the writer back soon.
func (c *client) setWriteBuffer(t *testing.T, size int) {
	t.Helper()
	if err := c.conn.NetConn().(*net.TCPConn).SetWriteBuffer(size); err != nil {
		t.Fatal(err)
	}
}
