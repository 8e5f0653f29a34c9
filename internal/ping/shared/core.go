package shared

import (
	"errors"
	"net/netip"
	"pingdeck/internal/ping"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// sharedConn is one ICMP socket as the shared engine uses it: the real one on Linux,
// a fake in the unit tests.
type sharedConn interface {
	// writeTo sends one echo request. It is called from one goroutine at a time and
	// returns the kernel's refusal as is, so a Result can say "send: <errno text>".
	writeTo(msg []byte, dst netip.Addr) error
	// readBatch fills ps with the ICMP messages waiting, without waiting for more, and
	// says how many (0: none waiting). maxMsg is the largest message the engine may
	// expect (longer ones may be cut short). Each p.msg stays valid until the next
	// call. After close it returns errSharedConnClosed.
	readBatch(ps []sharedPacket, maxMsg int) (int, error)
	close() error
}

// sharedPacket is one received ICMP message (without any IP header).
type sharedPacket struct {
	msg  []byte
	from netip.Addr
	at   time.Time // arrival: the kernel's receive timestamp when there is one
}

// errSharedConnClosed is what readFrom returns once the conn is closed.
var errSharedConnClosed = errors.New("ping: shared: connection closed")

// sharedProbe is one probe of a slot, kept from send until it is answered or lost.
type sharedProbe struct {
	sentAt  time.Time
	sentNs  int64
	seq     uint32
	icmpSeq uint16
	state   sharedProbeState
}

type sharedProbeState uint8

const (
	sharedProbeEmpty    sharedProbeState = iota
	sharedProbePending                   // sent, waiting for a reply or its deadline
	sharedProbeAnswered                  // credited with a reply
	sharedProbeLost                      // reported lost
	sharedProbeFailed                    // the send failed
)

// sharedSlot is one target's place in the engine. Slots are reused; gen changes on
// every reuse so that events and replies for the previous occupant do not match.
type sharedSlot struct {
	target ping.Target
	gen    uint32
	active bool
	seq    uint32        // next probe's sequence
	ring   []sharedProbe // the probes that may still be answered, by seq % len
}

// sharedStats counts what happened to probes and replies, for tests and the log.
type sharedStats struct {
	Sent, Received, Lost, SendErrors atomic.Uint64
	Late                             atomic.Uint64 // replies after their probe's deadline: ignored
	Duplicate                        atomic.Uint64 // second replies to an answered probe
	Foreign                          atomic.Uint64 // replies that match no probe of ours
	Abandoned                        atomic.Uint64 // probes in flight when their target was removed or Run ended
}

// sharedMetrics are the engine's Prometheus series, looked up once so the hot path
// does not hash label values.
type sharedMetrics struct {
	sent, received, lost, sendErrors prometheus.Counter
	targets                          prometheus.Gauge
	lag                              prometheus.Observer
}

func newSharedMetrics(m *ping.Metrics) *sharedMetrics {
	if m == nil {
		return nil
	}
	const engine = "shared"
	return &sharedMetrics{
		sent: m.Sent.WithLabelValues(engine), received: m.Received.WithLabelValues(engine),
		lost: m.Lost.WithLabelValues(engine), sendErrors: m.SendErrors.WithLabelValues(engine),
		targets: m.Targets.WithLabelValues(engine), lag: m.Lag.WithLabelValues(engine),
	}
}

// sharedCore is the shared engine's state and logic: target slots, one schedule of
// sends and deadlines, and the matching of replies to probes. It does I/O only
// through its conns and reads the time only from now, so tests drive it step by step.
type sharedCore struct {
	now     func() time.Time
	cookie  uint32
	id      uint16 // ICMP identifier of our requests
	checkID bool   // raw sockets: replies must carry id (datagram sockets: the kernel sets it)
	metrics *sharedMetrics
	stats   sharedStats
	// wakeHook, while Run runs, wakes its goroutine to look at a changed schedule.
	wakeHook atomic.Pointer[func()]
	// observe, when set (tests), sees the source of every credited reply.
	observe func(targetID string, from netip.Addr)

	mu      sync.Mutex
	desired []ping.Target // the last Update, applied when running
	running bool
	epoch   time.Time // event times count from here
	conns   [2]sharedConn
	connErr [2]error // why conns[i] is nil
	emit    func(ping.Result)
	slots   []sharedSlot
	byID    map[string]int32
	free    []int32
	events  sharedHeap      // the next send of every target
	dls     sharedDeadlines // the deadline of every probe sent
	// inFlight counts probes sent and not yet answered, lost or failed, per address
	// family: while there are any, the engine reads that family's socket every tick.
	inFlight [2]int
	maxMsg   int // the longest echo reply the targets can bring, ICMP header included
	icmpSeq  uint16

	sendBuf []byte // owned by the goroutine in runDue
}

func newSharedCore(now func() time.Time, cookie uint32, id uint16, checkID bool, m *ping.Metrics) *sharedCore {
	return &sharedCore{now: now, cookie: cookie, id: id, checkID: checkID, metrics: newSharedMetrics(m),
		byID:    map[string]int32{},
		sendBuf: make([]byte, sharedEchoHeaderLen+sharedPayloadMax)}
}

// sharedMaxOutstanding bounds the probes one target may have in flight, which bounds
// how far its timeout may exceed its interval.
const sharedMaxOutstanding = 64

// normalizeSharedTarget fills defaults and clamps the payload to what the stamp needs.
func normalizeSharedTarget(t ping.Target) ping.Target {
	t.Addr = t.Addr.Unmap().WithZone("")
	if t.Interval <= 0 {
		t.Interval = time.Second
	}
	if t.Timeout <= 0 {
		t.Timeout = time.Second
	}
	t.Timeout = min(t.Timeout, time.Duration(sharedMaxOutstanding-1)*t.Interval)
	t.Size = min(max(t.Size, sharedPayloadMin), sharedPayloadMax)
	return t
}

// update replaces the desired targets and, while running, applies the difference.
func (c *sharedCore) update(targets []ping.Target) {
	desired := make([]ping.Target, 0, len(targets))
	seen := make(map[string]bool, len(targets))
	for _, t := range targets {
		if !seen[t.ID] {
			seen[t.ID] = true
			desired = append(desired, normalizeSharedTarget(t))
		}
	}
	c.mu.Lock()
	c.desired = desired
	if c.running {
		c.applyLocked(c.now())
	}
	c.mu.Unlock()
	c.signal()
}

func (c *sharedCore) signal() {
	if wake := c.wakeHook.Load(); wake != nil {
		(*wake)()
	}
}

// applyLocked makes the slots match the desired targets: removed or changed targets
// stop, new ones are scheduled at their phase, unchanged ones keep their schedule.
func (c *sharedCore) applyLocked(now time.Time) {
	want := make(map[string]ping.Target, len(c.desired))
	for _, t := range c.desired {
		want[t.ID] = t
	}
	for id, idx := range c.byID {
		if t, ok := want[id]; !ok || t != c.slots[idx].target {
			c.removeLocked(idx)
		}
	}
	for _, t := range c.desired {
		if _, ok := c.byID[t.ID]; !ok {
			c.addLocked(t, now)
		}
	}
	// Events of removed targets wait in the schedule until due; drop them when they
	// dominate, so that frequent updates cannot grow it without bound.
	if len(c.events) > 4*len(c.byID)+1024 {
		c.events.retain(func(e sharedEvent) bool {
			s := &c.slots[e.slot]
			return s.active && s.gen == e.gen
		})
	}
	inFlightMax := make(map[int64]int, 4) // by timeout: how many probes can be waiting
	c.maxMsg = sharedEchoHeaderLen + sharedPayloadMin
	for _, t := range c.desired {
		inFlightMax[int64(t.Timeout)] += int(t.Timeout/t.Interval) + 2
		c.maxMsg = max(c.maxMsg, sharedEchoHeaderLen+t.Size)
	}
	c.dls.prune(func(timeout int64) bool { return inFlightMax[timeout] > 0 })
	for timeout, n := range inFlightMax {
		c.dls.reserve(timeout, n+n/4) // and stale deadlines of targets just removed
	}
	if c.metrics != nil {
		c.metrics.targets.Set(float64(len(c.byID)))
	}
}

func (c *sharedCore) addLocked(t ping.Target, now time.Time) {
	var idx int32
	if n := len(c.free); n > 0 {
		idx, c.free = c.free[n-1], c.free[:n-1]
	} else {
		idx = int32(len(c.slots))
		c.slots = append(c.slots, sharedSlot{})
	}
	s := &c.slots[idx]
	s.gen++
	s.active, s.target, s.seq = true, t, 0
	n := min(int(t.Timeout/t.Interval)+2, sharedMaxOutstanding)
	if cap(s.ring) >= n {
		s.ring = s.ring[:n]
		clear(s.ring)
	} else {
		s.ring = make([]sharedProbe, n)
	}
	c.byID[t.ID] = idx
	c.events.push(sharedEvent{at: c.offset(sharedFirstSend(now, t)), slot: idx, gen: s.gen})
}

func (c *sharedCore) removeLocked(idx int32) {
	s := &c.slots[idx]
	for i := range s.ring {
		if s.ring[i].state == sharedProbePending {
			c.stats.Abandoned.Add(1)
			c.inFlight[sharedFamily(s.target.Addr)]--
		}
	}
	delete(c.byID, s.target.ID)
	s.gen++
	s.active, s.target = false, ping.Target{}
	c.free = append(c.free, idx)
}

// sharedFirstSend is the first time after now at the target's phase in its interval.
func sharedFirstSend(now time.Time, t ping.Target) time.Time {
	at := now.Truncate(t.Interval).Add(ping.Phase(t.ID, t.Interval))
	for !at.After(now) {
		at = at.Add(t.Interval)
	}
	return now.Add(at.Sub(now)) // keep now's monotonic reading
}

func (c *sharedCore) offset(t time.Time) int64 { return int64(t.Sub(c.epoch)) }

// settleLocked ends the wait of s's pending probe p: answered, lost or failed.
func (c *sharedCore) settleLocked(s *sharedSlot, p *sharedProbe, state sharedProbeState) {
	p.state = state
	c.inFlight[sharedFamily(s.target.Addr)]--
}

// sharedFamily is the index of a's address family in the engine's sockets: 0 for
// IPv4, 1 for IPv6.
func sharedFamily(a netip.Addr) int {
	if a.Is6() {
		return 1
	}
	return 0
}

// readState is what the receiving side needs to know each tick: for which address
// family replies are expected (probes in flight), and how long they can be.
func (c *sharedCore) readState() (inFlight [2]bool, maxMsg int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return [2]bool{c.inFlight[0] > 0, c.inFlight[1] > 0}, c.maxMsg
}

// start begins probing the desired targets through conns (nil for a family that is
// unavailable, with the reason in connErr), reporting to emit.
func (c *sharedCore) start(conns [2]sharedConn, connErr [2]error, emit func(ping.Result)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running, c.epoch, c.conns, c.connErr, c.emit = true, c.now(), conns, connErr, emit
	c.applyLocked(c.epoch)
}

// stop forgets every slot; probes still in flight are dropped unreported.
func (c *sharedCore) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.byID {
		c.removeLocked(c.byID[id])
	}
	c.running, c.conns, c.emit = false, [2]sharedConn{}, nil
	c.slots, c.free, c.events = c.slots[:0], c.free[:0], c.events[:0]
	c.dls.reset()
	c.inFlight = [2]int{}
	if c.metrics != nil {
		c.metrics.targets.Set(0)
	}
}
