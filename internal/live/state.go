package live

import (
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/wire"
)

// recentSamples is how many results per target a snapshot carries (the sparkline).
const recentSamples = 60

// sample is one probe result as the live stream keeps it.
type sample struct {
	at     int64 // unix ms the probe was sent
	rttUS  int32 // round trip in µs, when ok
	ok     bool
	unsent bool // failed before it left (no address, send refused): not a lost packet
}

// lossBucket counts one second's probes, for loss over the last minute.
type lossBucket struct {
	sec        uint32 // unix seconds
	sent, recv uint16
}

// targetKey names a target's state at one location: each location a group is probed
// from has its own cell.
type targetKey struct{ id, loc string }

// targetState is what the hub knows of one target's recent results from one location.
type targetState struct {
	id        string
	quoted    []byte // id as a JSON string
	quotedLoc []byte // its location as a JSON string
	recent    [recentSamples]sample
	n, next   int // samples held, index of the next write
	buckets   [60]lossBucket
	unsent    string // why the newest probe that never left failed ("resolve x: no such host")
}

func newTargetState(id, loc string) *targetState {
	return &targetState{id: id, quoted: appendString(nil, id), quotedLoc: appendString(nil, loc)}
}

// record keeps a result: in the recent samples, and in the last minute's loss unless
// the probe never left (no address, a send error: failures that are not lost packets,
// the rule the dashboard's isLoss applies too).
func (t *targetState) record(it liveItem) {
	s := it.sample
	s.unsent = !s.ok && it.err != "" && it.err != ping.ErrTimeout
	if s.unsent {
		t.unsent = it.err
	}
	t.recent[t.next] = s
	t.next = (t.next + 1) % recentSamples
	t.n = min(t.n+1, recentSamples)
	sec := uint32(s.at / 1000)
	b := &t.buckets[sec%60]
	switch {
	case b.sec == sec:
	case b.sec > sec:
		return // older than the minute the buckets cover
	default:
		*b = lossBucket{sec: sec}
	}
	switch {
	case s.ok:
		b.sent++
		b.recv++
	case !s.unsent:
		b.sent++
	}
}

// last is the most recent sample, if any.
func (t *targetState) last() (sample, bool) {
	if t == nil || t.n == 0 {
		return sample{}, false
	}
	return t.recent[(t.next+recentSamples-1)%recentSamples], true
}

// loss1m is the share of probes sent in the minute before now that were lost.
func (t *targetState) loss1m(now time.Time) (float64, bool) {
	if t == nil {
		return 0, false
	}
	nowSec := uint32(now.Unix())
	var sent, recv int
	for _, b := range t.buckets {
		if b.sent > 0 && b.sec+60 > nowSec && b.sec <= nowSec {
			sent += int(b.sent)
			recv += int(b.recv)
		}
	}
	if sent == 0 {
		return 0, false
	}
	return 1 - float64(recv)/float64(sent), true
}

// liveItem is one result in a cut: the target, the sample and why it failed.
type liveItem struct {
	target *targetState
	sample
	err string
}

// ringItem is one result kept for resume, with the cut it was in and that cut's
// position.
type ringItem struct {
	seq, pos uint64
	liveItem
}

// itemLog holds a group's encoded items of recent cuts back to back, so that a
// message takes the cuts of a group it has not had as one slice. A full log is
// replaced by a fresh one; slices of the old stay valid (no byte is written twice).
type itemLog struct{ b []byte }

// fragment is a group's items of cut seq, encoded once for every follower:
// log.b[start:end].
type fragment struct {
	seq        uint64
	log        *itemLog
	start, end int
}

// Sizing of item logs: room for about logCuts cuts like the one that needs a new log.
const (
	logMinBytes = 1024
	logCuts     = maxSlots
)

// appendLog adds cut seq's encoded items to the group's log.
func (g *groupState) appendLog(seq uint64, enc []byte) fragment {
	if g.log == nil || cap(g.log.b)-len(g.log.b) < len(enc) {
		g.log = &itemLog{b: make([]byte, 0, max(logMinBytes, logCuts*len(enc)))}
	}
	start := len(g.log.b)
	g.log.b = append(g.log.b, enc...)
	return fragment{seq: seq, log: g.log, start: start, end: len(g.log.b)}
}

// groupState is everything the hub keeps per group: its settings and targets (loaded
// when someone follows it), per-target state, the ring of recent ticks and its
// followers. The hub's mutex guards it.
type groupState struct {
	id      string
	quoted  []byte
	meta    *groups.Group // with Targets; nil until needed
	metaVer uint64
	targets map[targetKey]*targetState
	ring    []ringItem // ascending seq, one flat slice: ticks hold a result or two
	// since: the ring holds every result the hub had of the group after this position
	// (it began keeping the group then).
	since   uint64
	pending []liveItem // the items published since the last cut
	log     *itemLog
	frags   [maxSlots]fragment // by seq % maxSlots
	subs    map[*client]struct{}
	// followed: the hub's feed delivers this group's results.
	followed bool

	headers   map[view][]byte // encoded group object per role and pin, for metaVer
	snapSeq   uint64          // the seq and metaVer snapTargets was built at
	snapVer   uint64
	snapBuilt bool
	snapTgts  []byte
}

func newGroupState(id string, since uint64) *groupState {
	return &groupState{id: id, since: since, quoted: appendString(nil, id), targets: map[targetKey]*targetState{}, subs: map[*client]struct{}{}}
}

func (g *groupState) target(id, loc string) *targetState {
	k := targetKey{id, loc}
	t := g.targets[k]
	if t == nil {
		t = newTargetState(id, loc)
		g.targets[k] = t
	}
	return t
}

// setMeta installs fresh settings and targets (nil forgets them until next needed) and
// drops the state of targets the group no longer has.
func (g *groupState) setMeta(m *groups.Group) {
	g.meta = m
	g.metaVer++
	g.headers = nil
	g.snapBuilt = false
	if m == nil {
		return
	}
	keep := make(map[string]bool, len(m.Targets))
	for _, t := range m.Targets {
		keep[t.ID] = true
	}
	for k := range g.targets {
		if !keep[k.id] {
			delete(g.targets, k)
		}
	}
}

// push records cut seq's items, at position pos, and forgets cuts at or before
// position oldest.
func (g *groupState) push(seq, pos uint64, items []liveItem, oldest uint64) {
	for _, it := range items {
		g.ring = append(g.ring, ringItem{seq: seq, pos: pos, liveItem: it})
	}
	g.prune(oldest)
}

// prune forgets cuts at or before position oldest.
func (g *groupState) prune(oldest uint64) {
	i := 0
	for i < len(g.ring) && g.ring[i].pos <= oldest {
		i++
	}
	if i > 0 {
		clear(g.ring[:i])
		g.ring = g.ring[i:]
	}
}

// after returns the kept results of cuts after position since.
func (g *groupState) after(since uint64) []ringItem {
	lo, hi := 0, len(g.ring)
	for lo < hi {
		mid := (lo + hi) / 2
		if g.ring[mid].pos <= since {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return g.ring[lo:]
}

// stateOf is a target's card state at a location (online: it is probing now).
func (g *groupState) stateOf(t *groups.Target, ts *targetState, online bool) string {
	if t.Paused || (g.meta != nil && g.meta.Paused) {
		return wire.StatePaused
	}
	if !online {
		return wire.StateOffline
	}
	s, ok := ts.last()
	switch {
	case !ok:
		return wire.StateUnknown
	case s.ok:
		return wire.StateUp
	}
	return wire.StateDown
}
