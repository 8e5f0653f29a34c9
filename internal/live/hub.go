package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// Store is what the hub reads about groups and dashboards.
type Store interface {
	GroupFor(ctx context.Context, id, viewerID string) (*store.GroupWithRole, error)
	Targets(ctx context.Context, groupID string) ([]groups.Target, error)
	DashboardGroupIDs(ctx context.Context, userID string, isAdmin bool) ([]string, error)
}

// Credentials checks again, now and then, the credential a socket was opened with.
type Credentials interface {
	Recheck(ctx context.Context, c auth.Credential) (*auth.User, error)
}

// GroupEncoder writes a group's JSON object exactly as GET /api/v1/groups/{id} does,
// without its targets (the stream adds its own, with live state).
type GroupEncoder func(g *groups.Group, role groups.Role, targetCount int) ([]byte, error)

// Options configure a Hub. Store, Credentials and EncodeGroup are required; zero
// durations and sizes take the defaults shown.
type Options struct {
	Store       Store
	Credentials Credentials
	EncodeGroup GroupEncoder
	Registry    prometheus.Registerer // nil: metrics are kept but not exported
	Logger      *slog.Logger

	Tick           time.Duration // results batching period, 200ms
	ResumeWindow   time.Duration // how far back resume can replay, 2m
	PingPeriod     time.Duration // server pings, 25s
	PongWait       time.Duration // a client silent this long (no pong, no message) is dropped, 60s
	WriteWait      time.Duration // longest one write may take, 10s
	CloseGrace     time.Duration // how long a closing socket waits for the peer's close, 2s
	RecheckEvery   time.Duration // how often open sockets' credentials are checked again, 1m
	MaxQueuedTicks int           // results messages a client may have unwritten before 4429, 32
	PublishBuffer  int           // results waiting for the next tick before drops, 65536
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Tick, 200*time.Millisecond)
	def(&o.ResumeWindow, 2*time.Minute)
	def(&o.PingPeriod, 25*time.Second)
	def(&o.PongWait, 60*time.Second)
	def(&o.WriteWait, 10*time.Second)
	def(&o.CloseGrace, 2*time.Second)
	def(&o.RecheckEvery, time.Minute)
	if o.MaxQueuedTicks <= 0 {
		o.MaxQueuedTicks = 32
	}
	if o.PublishBuffer <= 0 {
		o.PublishBuffer = 65536
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
}

// Limits on what one client may ask for.
const (
	maxMessageBytes     = 256 << 10 // a client frame larger than this is closed with 1009
	maxGroupsPerClient  = 1000
	maxPendingPerTick   = 1 << 20 // results held for one tick; more are dropped and counted
	dbTimeout           = 10 * time.Second
	maxPooledWriteBytes = 256 << 10
)

// Close codes of the protocol beyond RFC 6455's.
const (
	CloseUnauthenticated = 4401
	CloseAccessRevoked   = 4403
	CloseTooSlow         = 4429
)

// Hub is the live stream: connected clients, who follows which group, and the recent
// state of every group's targets.
type Hub struct {
	opt       Options
	log       *slog.Logger
	m         *metrics
	token     string // resume token: changes with every start
	ringTicks uint64 // ticks kept for resume
	in        chan ping.Result
	events    *eventQueue
	upgrader  websocket.Upgrader
	bufs      sync.Pool // *[]byte for assembling messages
	clientCtx context.Context
	stopCtx   context.CancelFunc
	clientsWG sync.WaitGroup // every client's reader and writer

	mu      sync.Mutex
	seq     uint64
	groups  map[string]*groupState
	clients map[*client]struct{}
	byUser  map[string]map[*client]struct{} // clients past hello
	closed  bool
	touched []*groupState // scratch for cutting a tick
	fanned  []*client
}

// NewHub returns a hub; Run makes it deliver and ServeWS connects clients to it.
func NewHub(opt Options) (*Hub, error) {
	if opt.Store == nil || opt.Credentials == nil || opt.EncodeGroup == nil {
		return nil, errors.New("live: Store, Credentials and EncodeGroup are required")
	}
	opt.defaults()
	m, err := newMetrics(opt.Registry)
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 12)
	_, _ = rand.Read(tok)
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		opt: opt, log: opt.Logger, m: m, token: hex.EncodeToString(tok),
		ringTicks: uint64(max(1, opt.ResumeWindow/opt.Tick)),
		in:        make(chan ping.Result, opt.PublishBuffer),
		events:    newEventQueue(10000),
		clientCtx: ctx, stopCtx: cancel,
		groups: map[string]*groupState{}, clients: map[*client]struct{}{}, byUser: map[string]map[*client]struct{}{},
	}
	h.upgrader = websocket.Upgrader{
		ReadBufferSize: 1024, WriteBufferSize: 4096, WriteBufferPool: &sync.Pool{},
		HandshakeTimeout: 10 * time.Second,
		// The HTTP layer checks the Origin before handing the request over.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return h, nil
}

// Publish hands the hub one probe result. It never blocks: when the hub is behind by
// PublishBuffer results, the result is dropped from the stream (not from storage) and
// counted in pingdeck_live_publish_dropped_total.
func (h *Hub) Publish(r ping.Result) {
	select {
	case h.in <- r:
	default:
		h.m.dropped.Inc()
	}
}

// Run cuts ticks and applies changes until ctx ends. Sockets stay open until Shutdown.
func (h *Hub) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); h.runTicks(ctx) }()
	go func() { defer wg.Done(); h.runEvents(ctx) }()
	wg.Wait()
}

// Shutdown closes every socket with 1001 and waits for their goroutines; when ctx ends
// first, the remaining connections are cut. New connections are refused from now on.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	all := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		all = append(all, c)
	}
	h.mu.Unlock()
	for _, c := range all {
		c.kick(websocket.CloseGoingAway, "server shutting down")
	}
	h.stopCtx()
	done := make(chan struct{})
	go func() { h.clientsWG.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range all {
			c.conn.Close()
		}
		<-done
		return ctx.Err()
	}
}

// runTicks gathers published results and cuts a tick every Tick.
func (h *Hub) runTicks(ctx context.Context) {
	t := time.NewTicker(h.opt.Tick)
	defer t.Stop()
	sweep := time.NewTicker(h.opt.ResumeWindow / 2)
	defer sweep.Stop()
	var pending []ping.Result
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-h.in:
			if len(pending) < maxPendingPerTick {
				pending = append(pending, r)
			} else {
				h.m.dropped.Inc()
			}
		case now := <-t.C:
			if len(pending) > 0 {
				h.cut(pending, now)
				clear(pending)
				pending = pending[:0]
			}
		case <-sweep.C:
			h.sweep()
		}
	}
}

// cut records one tick's results and queues, for every client following a group that
// has some, one results message spliced from each group's once-encoded fragment.
func (h *Hub) cut(batch []ping.Result, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	seq := h.seq
	for i := range batch {
		r := &batch[i]
		if r.GroupID == "" {
			continue
		}
		g := h.groups[r.GroupID]
		if g == nil {
			g = newGroupState(r.GroupID)
			h.groups[r.GroupID] = g
		}
		t := g.target(r.TargetID)
		it := itemOf(r, t)
		t.record(it.sample)
		if len(g.pending) == 0 {
			h.touched = append(h.touched, g)
		}
		g.pending = append(g.pending, it)
	}
	var oldest uint64
	if seq > h.ringTicks {
		oldest = seq - h.ringTicks
	}
	prefix := resultsPrefix(seq)
	for _, g := range h.touched {
		items := slices.Clip(g.pending)
		g.pending = nil
		g.push(tickEntry{seq: seq, items: items}, oldest)
		if len(g.subs) == 0 {
			continue
		}
		frag := encodeItems(g, items)
		for c := range g.subs {
			if len(c.parts) == 0 {
				h.fanned = append(h.fanned, c)
				c.parts = append(c.parts, prefix)
			} else {
				c.parts = append(c.parts, comma)
			}
			c.parts = append(c.parts, frag)
		}
	}
	for _, c := range h.fanned {
		parts := append(slices.Clone(c.parts), resultsSuffix)
		c.parts = c.parts[:0]
		c.send(outbound{parts: parts, kind: kindResults, tick: now, counted: true})
	}
	clear(h.touched)
	h.touched = h.touched[:0]
	clear(h.fanned)
	h.fanned = h.fanned[:0]
	h.m.fanout.Observe(time.Since(now).Seconds())
}

// sweep forgets ticks past the resume window in groups that have had no results since.
func (h *Hub) sweep() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seq <= h.ringTicks {
		return
	}
	for _, g := range h.groups {
		g.prune(h.seq - h.ringTicks)
	}
}

// canReplay reports whether the ticks after since are all still kept.
func (h *Hub) canReplay(token string, since uint64) bool {
	return token == h.token && since <= h.seq && h.seq-since <= h.ringTicks
}
