package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"pingdeck/frontend"
	"pingdeck/internal/api"
	"pingdeck/internal/auth"
	"pingdeck/internal/bus"
	"pingdeck/internal/groups"
	"pingdeck/internal/live"
	"pingdeck/internal/notify"
	"pingdeck/internal/ping"
	"pingdeck/internal/sites"
	"pingdeck/internal/store"
	"pingdeck/internal/store/storetest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	storetest.Main(m)
}

const adminPassword = "admin-password"

// env is a running API over a real database.
type env struct {
	t        *testing.T
	srv      *httptest.Server
	accounts *auth.Service
	store    *store.Store
	// events records what the changes the store announced do to live streams.
	events  *recordedEvents
	observe func(t *testing.T, req *http.Request, resp *http.Response, body []byte)
	// hub is the live stream, when options.live asked for one.
	hub *live.Hub
}

// options change the server a test runs against.
type options struct {
	limits func(*groups.Limits)
	policy groups.TargetPolicy
	ready  func(context.Context) error
	origin []string
	// trusted are the proxies whose X-Forwarded-* headers are believed.
	trusted []string
	logs    io.Writer
	// live, if set, runs a live hub with these options (Store and the like are filled in).
	live *live.Options
	// accounts, if set, changes the account service's options.
	accounts func(*auth.Options)
	// locations, if set, says where groups can be probed from (else: "local" only).
	locations api.Locations
	// sites runs a real agents registry on an embedded bus that listens on loopback
	// (it then says where groups can be probed from).
	sites bool
	// targetMetrics serves /metrics/targets (public: without credentials).
	targetMetrics       func(*store.Store) api.TargetMetrics
	targetMetricsPublic bool
}

// eachEnv runs f against a server on SQLite and one on Postgres.
func eachEnv(t *testing.T, o options, f func(t *testing.T, e *env)) {
	t.Helper()
	storetest.ForEachDB(t, func(t *testing.T, dsn string) {
		f(t, newEnv(t, dsn, o))
	})
}

func newEnv(t *testing.T, dsn string, o options) *env {
	t.Helper()
	changes := &groups.Fanout{}
	st, err := store.Open(context.Background(), dsn, store.Options{Migrate: true, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	events := &recordedEvents{}
	changes.Subscribe(groups.SubscriberFunc(func(c groups.Change) { live.Apply(events, c) }))
	accountOpts := auth.Options{BcryptCost: bcrypt.MinCost}
	if o.accounts != nil {
		o.accounts(&accountOpts)
	}
	accounts := auth.NewService(st, accountOpts)
	if _, _, err := accounts.Bootstrap(context.Background(), adminPassword); err != nil {
		t.Fatal(err)
	}
	limits := groups.Limits{MinInterval: 200 * time.Millisecond, MaxTargetsPerUser: 10000}
	if o.limits != nil {
		o.limits(&limits)
	}
	ready := o.ready
	if ready == nil {
		ready = st.Ping
	}
	deps := api.Deps{
		Store: st, Accounts: accounts, Limits: limits, Policy: o.policy, Ready: ready,
		Resolver: ping.NewResolver(o.policy, nil),
		Logger:   logger(o.logs), Registry: prometheus.NewRegistry(), TrustedProxies: o.trusted,
		AllowedOrigins: o.origin, SessionTTL: time.Hour, UI: frontend.Dist(), Locations: o.locations,
		TargetMetricsPublic: o.targetMetricsPublic,
	}
	if o.targetMetrics != nil {
		deps.TargetMetrics = o.targetMetrics(st)
	}
	deps.Channels, deps.Notifier, deps.Rules = st, notify.NewDispatcher(st, notify.Options{}), st
	deps.Thresholds, deps.Silences, deps.AlertViews = st, st, st
	if o.sites {
		reg := startSites(t, st)
		deps.Sites, deps.Locations, deps.AgentBus = reg, reg, "0.0.0.0:4222"
	}
	var hub *live.Hub
	if o.live != nil {
		hub = startHub(t, *o.live, st, accounts, deps.Registry, deps.Logger)
		changes.Subscribe(hub)
		deps.Live = hub
	}
	h, err := api.NewHandler(deps)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, accounts: accounts, store: st, events: events, hub: hub}
}

// startSites runs an agents registry on a listening embedded bus until the test ends.
func startSites(t *testing.T, st *store.Store) *sites.Registry {
	t.Helper()
	b, err := bus.Open(bus.Config{StoreDir: filepath.Join(t.TempDir(), "bus"), Listen: "127.0.0.1:0",
		User: "pingdeck", Password: "a-long-bus-password"})
	if err != nil {
		t.Fatal(err)
	}
	reg := sites.New(sites.Options{Own: groups.DefaultOwnLocation, Store: st, Bus: b,
		Probed: func(loc string) ping.Source { return st.ProbedFrom(loc, loc == groups.DefaultOwnLocation) }})
	if err := reg.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); reg.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; b.Close() })
	return reg
}

// startHub runs a live hub until the test ends, then closes its sockets and stops it.
func startHub(t *testing.T, o live.Options, st *store.Store, accounts *auth.Service, reg *prometheus.Registry, log *slog.Logger) *live.Hub {
	t.Helper()
	o.Store, o.Credentials, o.Registry, o.Logger = st, accounts, reg, log
	hub, err := live.NewHub(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); hub.Run(ctx) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer scancel()
		if err := hub.Shutdown(sctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		cancel()
		<-done
	})
	return hub
}

// client is one signed-in (or anonymous) API user with its own cookie jar.
type client struct {
	t      *testing.T
	base   string
	http   *http.Client
	bearer string
	header http.Header
	// observe, if set, sees every exchange (the request rebuilt with the same body).
	observe func(t *testing.T, req *http.Request, resp *http.Response, body []byte)
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, base: e.srv.URL, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}, header: http.Header{}, observe: e.observe}
}

// login signs in as username (the admin, or a user created with password username+"-pass").
func (e *env) login(username string) *client {
	c := e.anon()
	pw := username + "-pass"
	if username == "admin" {
		pw = adminPassword
	}
	c.mustJSON("POST", "/api/v1/auth/login", map[string]string{"username": username, "password": pw}, 200, nil)
	return c
}

// user creates an account through the admin API and signs it in.
func (e *env) user(username string) *client {
	e.login("admin").mustJSON("POST", "/api/v1/users", map[string]any{"username": username, "password": username + "-pass"}, 201, nil)
	return e.login(username)
}

// in returns the client reporting failures to t (for subtests).
func (c *client) in(t *testing.T) *client {
	cp := *c
	cp.t = t
	return &cp
}

// do sends body (a string is sent verbatim, anything else as JSON) and returns the
// status and body, after showing the exchange to c.observe if set.
func (c *client) do(method, path string, body any) (int, []byte, *http.Response) {
	c.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			c.t.Fatal(err)
		}
	}
	newRequest := func() *http.Request {
		req, err := http.NewRequest(method, c.base+path, bytes.NewReader(raw))
		if err != nil {
			c.t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+c.bearer)
		}
		for k, v := range c.header {
			req.Header[k] = v
		}
		return req
	}
	resp, err := c.http.Do(newRequest())
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.observe != nil {
		c.observe(c.t, newRequest(), resp, got)
	}
	return resp.StatusCode, got, resp
}

// mustJSON checks the status and decodes the response into out (if not nil).
func (c *client) mustJSON(method, path string, body any, want int, out any) {
	c.t.Helper()
	status, raw, _ := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

type apiError struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

// mustError checks the status, that the body is the JSON error shape with code, and
// that details.field names field (when field is not empty).
func (c *client) mustError(method, path string, body any, status int, code, field string) apiError {
	c.t.Helper()
	got, raw, _ := c.do(method, path, body)
	var e apiError
	if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		c.t.Fatalf("%s %s: body is not a JSON error: %s", method, path, raw)
	}
	if got != status || e.Error.Code != code {
		c.t.Fatalf("%s %s: %d %s, want %d %s; body %s", method, path, got, e.Error.Code, status, code, raw)
	}
	if field != "" && e.Error.Details["field"] != field {
		c.t.Fatalf("%s %s: details.field = %v, want %q; body %s", method, path, e.Error.Details["field"], field, raw)
	}
	return e
}

// Wire shapes the tests read.
type target struct {
	ID      string  `json:"id"`
	Address string  `json:"address"`
	IP      *string `json:"ip"`
	Kind    string  `json:"kind"`
	Paused  bool    `json:"paused"`
	// Unresolved is set only in the answer that added a hostname that did not resolve.
	Unresolved string `json:"unresolved"`
}

type skipped struct {
	Input  string `json:"input"`
	Reason string `json:"reason"`
}

type group struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	Visibility  string    `json:"visibility"`
	IntervalMs  int64     `json:"interval_ms"`
	TimeoutMs   int64     `json:"timeout_ms"`
	PacketSize  int       `json:"packet_size"`
	Paused      bool      `json:"paused"`
	Metrics     bool      `json:"metrics"`
	Locations   []string  `json:"locations"`
	Pinned      bool      `json:"pinned"`
	TargetCount int       `json:"target_count"`
	Targets     []target  `json:"targets"`
	Skipped     []skipped `json:"skipped"`
	Owner       struct {
		Username string `json:"username"`
	} `json:"owner"`
}

type groupList struct {
	Groups []group `json:"groups"`
}

type addResult struct {
	Added   []target  `json:"added"`
	Skipped []skipped `json:"skipped"`
}

const zeroID = "00000000-0000-4000-8000-000000000000"

func sqliteDSN(t *testing.T) string { return "sqlite:" + t.TempDir() + "/api.db" }

func logger(w io.Writer) *slog.Logger {
	if w == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(w, nil))
}
