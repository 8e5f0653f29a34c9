package shared

import (
	"errors"
	"net/netip"
	"pingdeck/internal/ping"
	"time"
)

var errSharedBadAddr = errors.New("not an IP address")

// sharedOutgoing is a probe recorded as pending and ready to go on the wire.
type sharedOutgoing struct {
	conn      sharedConn
	connErr   error
	msg       []byte
	dst       netip.Addr
	slot      int32
	gen, seq  uint32
	sentAt    time.Time
	scheduled time.Time
}

// runDue sends every probe and expires every deadline scheduled up to until, in time
// order (a deadline before a send due at the same moment), then returns when the next
// event is due (ok false: nothing is scheduled). One goroutine at a time may call it:
// it owns the send buffer. The lock is held per event, never across a send or an emit.
func (c *sharedCore) runDue(until time.Time) (next time.Time, ok bool) {
	for sends := 0; ; {
		c.mu.Lock()
		if !c.running {
			c.mu.Unlock()
			return time.Time{}, false
		}
		if sends == sharedMaxSendsPerRun && len(c.events) > 0 {
			// Far behind: let the caller read the replies waiting before the rest.
			next = c.epoch.Add(time.Duration(c.events[0].at))
			c.mu.Unlock()
			return next, true
		}
		limit := c.offset(until)
		q := c.dls.earliest()
		var dl sharedDeadline
		if q != nil {
			dl, _ = q.peek()
		}
		sendDue := len(c.events) > 0 && c.events[0].at <= limit && (q == nil || c.events[0].at < dl.at)
		if q != nil && dl.at <= limit && !sendDue {
			q.pop()
			r, lost := c.expireLocked(dl)
			emit := c.emit
			c.mu.Unlock()
			if lost {
				c.reportLost(emit, r)
			}
			continue
		}
		if !sendDue {
			switch {
			case len(c.events) > 0 && (q == nil || c.events[0].at < dl.at):
				next, ok = c.epoch.Add(time.Duration(c.events[0].at)), true
			case q != nil:
				next, ok = c.epoch.Add(time.Duration(dl.at)), true
			}
			c.mu.Unlock()
			return next, ok
		}
		ev := c.events.pop()
		s := &c.slots[ev.slot]
		if !s.active || s.gen != ev.gen {
			c.mu.Unlock() // stale: the target was removed or changed
			continue
		}
		sends++
		out, early, evicted := c.prepareLocked(s, ev)
		emit := c.emit
		c.mu.Unlock()
		if evicted {
			c.reportLost(emit, early)
		}
		c.transmit(emit, &out)
	}
}

// sharedMaxSendsPerRun bounds the sends of one runDue (twelve ticks' worth at 20,000
// targets a second): an engine that fell behind, on a saturated machine, catches up in
// steps with its sockets read in between, so that replies do not overflow the receive
// buffer and probes answered in time are not taken for lost.
const sharedMaxSendsPerRun = 256

// expireLocked reports the probe of dl lost if it is still waiting.
func (c *sharedCore) expireLocked(dl sharedDeadline) (ping.Result, bool) {
	s := &c.slots[dl.slot]
	if !s.active || s.gen != dl.gen {
		return ping.Result{}, false // the target was removed or changed
	}
	p := &s.ring[dl.seq%uint32(len(s.ring))]
	if p.seq != dl.seq || p.state != sharedProbePending {
		return ping.Result{}, false // answered, failed, or already reported
	}
	c.settleLocked(s, p, sharedProbeLost)
	return ping.Result{TargetID: s.target.ID, GroupID: s.target.GroupID, SentAt: p.sentAt, Err: ping.ErrTimeout}, true
}

// prepareLocked schedules the slot's next send, records the probe due now as pending
// with its deadline, and builds its message. If the probe it replaces in the ring is
// still waiting (only when sends fell far behind), that one is reported lost.
func (c *sharedCore) prepareLocked(s *sharedSlot, ev sharedEvent) (out sharedOutgoing, early ping.Result, evicted bool) {
	t := &s.target
	interval := int64(t.Interval)
	now := c.now()
	nowOff := c.offset(now)
	next := ev.at + interval
	if next <= nowOff { // fell behind by more than an interval: skip the missed slots
		next += (nowOff - next + interval) / interval * interval
	}
	c.events.push(sharedEvent{at: next, slot: ev.slot, gen: ev.gen})

	seq := s.seq
	s.seq++
	p := &s.ring[seq%uint32(len(s.ring))]
	if p.state == sharedProbePending {
		c.settleLocked(s, p, sharedProbeLost)
		early, evicted = ping.Result{TargetID: t.ID, GroupID: t.GroupID, SentAt: p.sentAt, Err: ping.ErrTimeout}, true
	}
	c.icmpSeq++
	sentAt := c.now() // as late as possible: the send follows
	*p = sharedProbe{sentAt: sentAt, sentNs: sentAt.UnixNano(), seq: seq, icmpSeq: c.icmpSeq, state: sharedProbePending}
	c.inFlight[sharedFamily(t.Addr)]++
	c.dls.push(int64(t.Timeout), sharedDeadline{at: c.offset(sentAt) + int64(t.Timeout), slot: ev.slot, gen: ev.gen, seq: seq})

	out = sharedOutgoing{dst: t.Addr, slot: ev.slot, gen: ev.gen, seq: seq, sentAt: sentAt,
		scheduled: c.epoch.Add(time.Duration(ev.at))}
	fam := 0
	switch {
	case t.Addr.Is4():
	case t.Addr.Is6():
		fam = 1
	default:
		out.connErr = errSharedBadAddr
		return out, early, evicted
	}
	out.conn, out.connErr = c.conns[fam], c.connErr[fam]
	st := sharedStamp{cookie: c.cookie, slot: uint32(ev.slot), gen: ev.gen, seq: seq, sentNs: p.sentNs}
	out.msg = buildSharedEcho(c.sendBuf, fam == 1, c.id, c.icmpSeq, st, t.Size)
	return out, early, evicted
}

// transmit sends a prepared probe; a refused send becomes a failed Result at once.
func (c *sharedCore) transmit(emit func(ping.Result), out *sharedOutgoing) {
	err := out.connErr
	if out.conn != nil {
		err = out.conn.writeTo(out.msg, out.dst)
	} else if err == nil {
		err = errors.New("no socket for this address family")
	}
	if c.metrics != nil {
		c.metrics.lag.Observe(max(out.sentAt.Sub(out.scheduled), 0).Seconds())
	}
	if err == nil {
		c.stats.Sent.Add(1)
		if c.metrics != nil {
			c.metrics.sent.Inc()
		}
		return
	}
	c.mu.Lock()
	var r ping.Result
	failed := false
	if s := &c.slots[out.slot]; s.active && s.gen == out.gen {
		p := &s.ring[out.seq%uint32(len(s.ring))]
		if failed = p.seq == out.seq && p.state == sharedProbePending; failed {
			c.settleLocked(s, p, sharedProbeFailed)
			r = ping.Result{TargetID: s.target.ID, GroupID: s.target.GroupID, SentAt: out.sentAt, Err: "send: " + err.Error()}
		}
	}
	c.mu.Unlock()
	if failed {
		c.stats.SendErrors.Add(1)
		if c.metrics != nil {
			c.metrics.sendErrors.Inc()
		}
		emit(r)
	}
}

func (c *sharedCore) reportLost(emit func(ping.Result), r ping.Result) {
	c.stats.Lost.Add(1)
	if c.metrics != nil {
		c.metrics.lost.Inc()
	}
	emit(r)
}
