package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
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
	// GroupsByID reads many groups as one viewer sees them, in one query.
	GroupsByID(ctx context.Context, ids []string, viewerID string) (map[string]store.GroupWithRole, error)
	// ViewersOf reads the share role and pin of many users on one group.
	ViewersOf(ctx context.Context, id string, userIDs []string) (map[string]store.ViewerState, error)
	Targets(ctx context.Context, groupID string) ([]groups.Target, error)
	// TargetsOfGroups reads the targets of many groups in one query.
	TargetsOfGroups(ctx context.Context, groupIDs []string) (map[string][]groups.Target, error)
	DashboardGroupIDs(ctx context.Context, userID string, isAdmin bool) ([]string, error)
	// RecentResults reads the newest results of targets sent since, oldest first.
	RecentResults(ctx context.Context, targetIDs []string, since time.Time, limit int) ([]ping.Result, error)
}

var _ Store = (*store.Store)(nil)

// Feed is where the hub's results come from: it follows a group when the group's
// first socket does, and the results of followed groups arrive through Publish.
type Feed interface {
	Follow(groupID string) error
	Unfollow(groupID string)
}

// Credentials checks again, now and then, the credential a socket was opened with.
type Credentials interface {
	Recheck(ctx context.Context, c auth.Credential) (*auth.User, error)
}

// Options configure a Hub. Store and Credentials are required; zero
// durations and sizes take the defaults shown.
type Options struct {
	Store       Store
	Credentials Credentials
	Registry    prometheus.Registerer // nil: metrics are kept but not exported
	Logger      *slog.Logger
	// Feed, when set, is told which groups the hub's sockets follow (within the
	// resume window), and a group nobody follows any more is forgotten. Without one,
	// the hub keeps whatever is published.
	Feed Feed
	// Location is the server's own location: results that name none were probed
	// there, and groups with no locations are probed there. "local".
	Location string

	Tick         time.Duration // how often a client gets a results message, 200ms; cuts are every Tick/32 (6.25 ms)
	ResumeWindow time.Duration // how far back resume can replay, 2m
	// ResumeToken, when set, is the resume token of every replica of a cluster (they
	// share it), so that a client may resume on any of them; empty: a fresh token each
	// start. ResumeSkew is then how far apart the replicas' positions of one result may
	// be (clock skew and delivery), 3s: a resume from another replica replays that much
	// more, which the client drops as already had.
	ResumeToken  string
	ResumeSkew   time.Duration
	PingPeriod   time.Duration // server pings, 25s
	PongWait     time.Duration // a client silent this long (no pong, no message) is dropped, 60s
	WriteWait    time.Duration // longest one write may take, 10s
	CloseGrace   time.Duration // how long a closing socket waits for the peer's close, 2s
	RecheckEvery time.Duration // how often open sockets' credentials are checked again, 1m
	// MaxQueuedBytes bounds what one client has waiting, every kind of message
	// counted from being queued until its write returns (a snapshot or group_updated,
	// built only when written, counts groupMessageBytes while it waits): past it the
	// client is closed with 4429. 4 MiB: seconds of a heavy stream (7 s of 1,000
	// targets at 200 ms), a minute of a usual dashboard's.
	MaxQueuedBytes int
	// MaxStreamsPerUser is how many sockets one user may have open at once; one more
	// is refused before the upgrade (429). 20.
	MaxStreamsPerUser int
	// Streams, when set, counts the user's sockets on every replica for that cap
	// (this hub's own count still applies).
	Streams StreamCounter
	// InboundBurst messages from a client at once, then InboundPerSecond a second;
	// past that the client is closed with 1008. 40 and 10.
	InboundBurst     int
	InboundPerSecond float64
	PublishBuffer    int // results waiting for the next cut before drops, 65536
}

// StreamCounter counts users' live streams across replicas.
type StreamCounter interface {
	// Open counts one more stream of the user unless limit are open everywhere;
	// false: refused, nothing counted.
	Open(ctx context.Context, userID string, limit int) bool
	// Close uncounts one; it must not wait.
	Close(userID string)
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
	if o.MaxQueuedBytes <= 0 {
		o.MaxQueuedBytes = 4 << 20
	}
	if o.MaxStreamsPerUser <= 0 {
		o.MaxStreamsPerUser = 20
	}
	if o.InboundBurst <= 0 {
		o.InboundBurst = 40
	}
	if o.InboundPerSecond <= 0 {
		o.InboundPerSecond = 10
	}
	if o.PublishBuffer <= 0 {
		o.PublishBuffer = 65536
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Location == "" {
		o.Location = "local"
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.ResumeToken == "" {
		o.ResumeSkew = 0 // positions come from this hub alone
	} else {
		def(&o.ResumeSkew, 3*time.Second)
	}
}

// slotsFor is how many flush slots a tick has: slots of cutEvery, at most maxSlots.
func slotsFor(tick time.Duration) int {
	return int(min(maxSlots, max(1, tick/cutEvery)))
}

// Limits on what one client may ask for.
const (
	maxMessageBytes    = 256 << 10 // a client frame larger than this is closed with 1009
	maxGroupsPerClient = 1000
	dbTimeout          = 10 * time.Second
	maxSlots           = 32 // flush slots per tick; fragments are kept for this many cuts
	cutEvery           = 6250 * time.Microsecond
)

// Close codes of the protocol beyond RFC 6455's. The server closes with: 1000 normal;
// 1001 shutting down; 1003 a binary message (only JSON text is taken); 1008 too many
// messages (more than Options.InboundBurst at once, then InboundPerSecond); 1009 a
// message over 256 KiB; 1011 internal error; 4401 signed out or session ended; 4403
// access revoked to every followed group; 4429 too slow (more than
// Options.MaxQueuedBytes waiting).
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
	token     string // resume token: changes with every start, or the cluster's
	window    uint64 // positions kept for resume (ResumeWindow)
	skew      uint64 // ResumeSkew in positions
	in        inbox
	events    *eventQueue
	upgrader  websocket.Upgrader
	slotCount int       // flush slots per Tick: the hub cuts once per slot
	partsPool sync.Pool // *[][]byte for results messages' parts
	clientCtx context.Context
	stopCtx   context.CancelFunc
	clientsWG sync.WaitGroup // every client's reader and writer

	mu      sync.Mutex
	seq     uint64 // cuts so far: the fragments' index
	pos     uint64 // the newest cut's position (see position)
	floor   uint64 // the next cut's position is at least this
	groups  map[string]*groupState
	clients map[*client]struct{}
	byUser  map[string]map[*client]struct{} // clients past hello
	streams map[string]int                  // open sockets by user, counted before the upgrade
	gone    map[string][]goneSocket         // by user: sockets closed within the resume window
	// With a shared token: the positions at which users' dashboards and groups'
	// viewers last changed, within the resume window (resume.go, sharedKnown).
	dashChanged   map[string]uint64
	accessChanged map[string]uint64
	closed        bool
	touched       []*groupState // scratch for a cut
	prefix        []byte        // the opening of results messages at seq
	scratch       []byte        // for encoding a cut
	slots         [][]*client   // started clients by flush slot
	// offline: locations whose agent is silent; locationsMsg says so to new sockets.
	offline      map[string]bool
	locationsMsg []byte
}

// NewHub returns a hub; Run makes it deliver and ServeWS connects clients to it.
func NewHub(opt Options) (*Hub, error) {
	if opt.Store == nil || opt.Credentials == nil {
		return nil, errors.New("live: Store and Credentials are required")
	}
	opt.defaults()
	m, err := newMetrics(opt.Registry)
	if err != nil {
		return nil, err
	}
	token := opt.ResumeToken
	if token == "" {
		tok := make([]byte, 12)
		_, _ = rand.Read(tok)
		token = hex.EncodeToString(tok)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		opt: opt, log: opt.Logger, m: m, token: token,
		window: uint64(max(1, opt.ResumeWindow/posUnit)), skew: uint64(opt.ResumeSkew / posUnit),
		slotCount: slotsFor(opt.Tick),
		in:        inbox{max: opt.PublishBuffer},
		events:    newEventQueue(10000),
		clientCtx: ctx, stopCtx: cancel,
		groups: map[string]*groupState{}, clients: map[*client]struct{}{}, byUser: map[string]map[*client]struct{}{},
		streams: map[string]int{}, gone: map[string][]goneSocket{},
		dashChanged: map[string]uint64{}, accessChanged: map[string]uint64{},
	}
	h.slots = make([][]*client, h.slotCount)
	h.upgrader = websocket.Upgrader{
		// A results message mostly fits one pooled write buffer (one frame, one
		// write); no socket holds a write buffer between messages.
		ReadBufferSize: 1024, WriteBufferSize: 32 << 10, WriteBufferPool: &sync.Pool{},
		HandshakeTimeout: 10 * time.Second,
		// The HTTP layer checks the Origin before handing the request over.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return h, nil
}

// Publish hands the hub probe results. It never waits for the hub: when
// PublishBuffer results already wait for the next cut, the rest are dropped from the
// stream (not from storage) and counted in pingdeck_live_publish_dropped_total.
func (h *Hub) Publish(rs ...ping.Result) {
	if n := h.in.put(rs); n > 0 {
		h.m.dropped.Add(float64(n))
	}
}

// inbox holds published results until the flush loop's next cut takes them all at once:
// publishing never wakes the loop, which wakes only on its ticker.
type inbox struct {
	mu    sync.Mutex
	items []ping.Result
	max   int
}

// put adds what fits under max and returns how many did not.
func (b *inbox) put(rs []ping.Result) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(rs), max(b.max-len(b.items), 0))
	b.items = append(b.items, rs[:n]...)
	return len(rs) - n
}

// take returns what was put since the last take and keeps spare, emptied, for what comes
// next: two slices taking turns.
func (b *inbox) take(spare []ping.Result) []ping.Result {
	clear(spare)
	b.mu.Lock()
	defer b.mu.Unlock()
	got := b.items
	b.items = spare[:0]
	return got
}

// Run cuts results and applies changes until ctx ends. Sockets stay open until Shutdown.
func (h *Hub) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); h.runCuts(ctx) }()
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

// runCuts, every slot (Tick/slotCount), cuts the results published since the
// last and flushes the clients of that slot.
func (h *Hub) runCuts(ctx context.Context) {
	t := time.NewTicker(h.opt.Tick / time.Duration(h.slotCount))
	defer t.Stop()
	sweep := time.NewTicker(h.opt.ResumeWindow / 2)
	defer sweep.Stop()
	var batch []ping.Result
	slot := 0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			batch = h.in.take(batch)
			h.cut(batch, slot, now)
			slot = (slot + 1) % h.slotCount
		case <-sweep.C:
			h.sweep()
		}
	}
}

// cut records the results since the last cut (if any) and encodes each group's items once, then
// queues for every client of slot one results message with what it has not had yet,
// spliced from those once-encoded fragments. Clients are spread over the slots so
// that every slot wakes a share of the writers instead of every tick waking them all
// at once.
func (h *Hub) cut(batch []ping.Result, slot int, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(batch) > 0 {
		h.record(batch, now)
	}
	for _, c := range h.slots[slot] {
		h.flush(c, now)
	}
	if len(h.slots[slot]) > 0 {
		h.m.fanout.Observe(time.Since(now).Seconds())
	}
}

// record makes batch the next cut: per-target state, the resume ring, and one encoded
// fragment per group that has followers. h.mu is held.
func (h *Hub) record(batch []ping.Result, now time.Time) {
	h.seq++
	seq := h.seq
	h.pos = max(h.pos+1, position(now), h.floor)
	for i := range batch {
		r := &batch[i]
		if r.GroupID == "" {
			continue
		}
		g := h.groups[r.GroupID]
		if g == nil {
			g = newGroupState(r.GroupID, h.pos)
			h.groups[r.GroupID] = g
		}
		loc := r.Location
		if loc == "" {
			loc = h.opt.Location
		}
		t := g.target(r.TargetID, loc)
		it := itemOf(r, t)
		t.record(it)
		if len(g.pending) == 0 {
			h.touched = append(h.touched, g)
		}
		g.pending = append(g.pending, it)
	}
	oldest := h.oldestKept()
	for _, g := range h.touched {
		g.push(seq, h.pos, g.pending, oldest)
		if len(g.subs) > 0 {
			h.scratch = appendItems(h.scratch[:0], g, g.pending)
			g.frags[seq%maxSlots] = g.appendLog(seq, h.scratch)
		}
		clear(g.pending)
		g.pending = g.pending[:0]
	}
	clear(h.touched)
	h.touched = h.touched[:0]
	h.prefix = resultsPrefix(h.pos)
}

// posUnit is the unit of positions: a cut's time, in these since 1970.
const posUnit = cutEvery

// position is t as a position: what a results message's seq says, comparable across
// replicas whose clocks agree.
func position(t time.Time) uint64 { return uint64(max(0, t.UnixNano()/int64(posUnit))) }

// oldestKept is the newest position the resume window has let go: results after it
// are all kept. h.mu is held.
func (h *Hub) oldestKept() uint64 {
	if h.pos > h.window {
		return h.pos - h.window
	}
	return 0
}

// flush queues for c the results of its groups after the last seq it was sent, as one
// message. Between two flushes of a client lie slotCount cuts, so everything it needs
// is still in the groups' fragment slots. h.mu is held.
func (h *Hub) flush(c *client, now time.Time) {
	cur := c.sent
	if cur >= h.seq {
		return
	}
	c.sent = h.seq
	lo := cur
	if ph := uint64(h.slotCount); h.seq > ph {
		lo = max(lo, h.seq-ph) // never more than slotCount cuts back (so always true)
	}
	parts := h.getParts()
	parts = append(parts, h.prefix)
	for _, s := range c.subs {
		if s.awaitingSnapshot { // its snapshot will carry these
			continue
		}
		var run fragment // cuts back to back in one log: one part
		for q := max(lo, s.from) + 1; q <= h.seq; q++ {
			f := &s.g.frags[q%maxSlots]
			switch {
			case f.seq != q || f.log == nil:
			case run.log == f.log && run.end == f.start:
				run.end = f.end
			default:
				if run.log != nil {
					parts = append(parts, run.log.b[run.start:run.end])
				}
				run = *f
			}
		}
		if run.log != nil {
			parts = append(parts, run.log.b[run.start:run.end])
		}
	}
	if len(parts) == 1 {
		h.putParts(parts)
		return
	}
	parts[1] = parts[1][1:] // the first fragment's leading comma
	parts = append(parts, resultsSuffix)
	c.send(outbound{parts: parts, kind: kindResults, flushed: now, pooled: true})
}

func (h *Hub) getParts() [][]byte {
	if p, _ := h.partsPool.Get().(*[][]byte); p != nil {
		return (*p)[:0]
	}
	return make([][]byte, 0, 32)
}

func (h *Hub) putParts(parts [][]byte) {
	clear(parts)
	parts = parts[:0]
	h.partsPool.Put(&parts)
}

// sweep forgets cuts past the resume window in groups that have had no results since,
// and, with a feed, the groups nobody follows.
func (h *Hub) sweep() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if oldest := h.oldestKept(); oldest > 0 {
		for _, g := range h.groups {
			g.prune(oldest)
		}
		h.forgetGone(oldest)
		h.forgetChanges(oldest)
	}
	h.unfollowIdle()
}

// followGroup makes sure the feed delivers g's results. h.mu is held.
func (h *Hub) followGroup(g *groupState) {
	if h.opt.Feed == nil || g.followed {
		return
	}
	if err := h.opt.Feed.Follow(g.id); err != nil {
		h.log.Error("live: cannot follow a group's results on the bus; its cards will not update", "group", g.id, "err", err)
		return
	}
	g.followed = true
	g.since = h.now() // what came before went elsewhere
}

// unfollowIdle, with a feed, stops following and forgets the groups no socket follows
// and no socket closed within the resume window followed: their state would only go
// stale. h.mu is held.
func (h *Hub) unfollowIdle() {
	if h.opt.Feed == nil {
		return
	}
	resumable := map[string]bool{}
	for _, list := range h.gone {
		for _, g := range list {
			for _, s := range g.subs {
				resumable[s.id] = true
			}
		}
	}
	for id, g := range h.groups {
		if len(g.subs) == 0 && !resumable[id] {
			h.forgetGroup(g)
		}
	}
}

// forgetGroup stops following g and drops its state. h.mu is held.
func (h *Hub) forgetGroup(g *groupState) {
	if g.followed {
		h.opt.Feed.Unfollow(g.id)
	}
	delete(h.groups, g.id)
}
