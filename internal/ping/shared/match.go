package shared

import "pingdeck/internal/ping"

// receive matches one ICMP message to the probe it answers and reports that probe
// answered. Anything else is counted and dropped: messages that are not our echo
// replies (foreign), replies after their probe's deadline (late, never credited),
// and second replies to a probe (duplicate).
func (c *sharedCore) receive(p *sharedPacket) {
	e, ok := parseSharedEcho(p.msg)
	wantType := uint8(sharedICMP4Reply)
	if p.from.Is6() {
		wantType = sharedICMP6Reply
	}
	if !ok || e.typ != wantType || e.code != 0 || len(e.payload) < sharedStampLen || c.checkID && e.id != c.id {
		c.stats.Foreign.Add(1)
		return
	}
	st := readSharedStamp(e.payload)
	if st.cookie != c.cookie {
		c.stats.Foreign.Add(1)
		return
	}

	c.mu.Lock()
	r, verdict := c.matchLocked(p, e, st)
	emit, observe := c.emit, c.observe
	c.mu.Unlock()

	switch verdict {
	case sharedReplyCredited:
		c.stats.Received.Add(1)
		if c.metrics != nil {
			c.metrics.received.Inc()
		}
		if observe != nil {
			observe(r.TargetID, p.from)
		}
		emit(r)
	case sharedReplyTooLate:
		c.stats.Late.Add(1)
		c.reportLost(emit, r) // its deadline passed before the scheduler noticed
	case sharedReplyLate:
		c.stats.Late.Add(1)
	case sharedReplyDuplicate:
		c.stats.Duplicate.Add(1)
	default:
		c.stats.Foreign.Add(1)
	}
}

type sharedReplyVerdict uint8

const (
	sharedReplyForeign   sharedReplyVerdict = iota
	sharedReplyCredited                     // answered its probe in time
	sharedReplyTooLate                      // came after the deadline, which was not yet reported: report the loss
	sharedReplyLate                         // its probe was already reported lost, or is long gone
	sharedReplyDuplicate                    // its probe was already answered
)

func (c *sharedCore) matchLocked(p *sharedPacket, e sharedEcho, st sharedStamp) (ping.Result, sharedReplyVerdict) {
	if !c.running || st.slot >= uint32(len(c.slots)) {
		return ping.Result{}, sharedReplyForeign
	}
	s := &c.slots[st.slot]
	if !s.active || s.gen != st.gen {
		return ping.Result{}, sharedReplyLate // for a target since removed or changed
	}
	t := &s.target
	if p.from != t.Addr || len(e.payload) != t.Size {
		return ping.Result{}, sharedReplyForeign // not from where we sent it, or not what we sent
	}
	probe := &s.ring[st.seq%uint32(len(s.ring))]
	if probe.seq != st.seq || probe.state == sharedProbeEmpty {
		return ping.Result{}, sharedReplyLate // the ring moved on: far past its deadline
	}
	if probe.icmpSeq != e.seq || probe.sentNs != st.sentNs {
		return ping.Result{}, sharedReplyForeign
	}
	switch probe.state {
	case sharedProbeAnswered:
		return ping.Result{}, sharedReplyDuplicate
	case sharedProbeLost:
		return ping.Result{}, sharedReplyLate
	case sharedProbePending:
	default:
		return ping.Result{}, sharedReplyForeign // a failed send cannot be answered
	}
	rtt := max(p.at.Sub(probe.sentAt), 0)
	if rtt > t.Timeout {
		c.settleLocked(s, probe, sharedProbeLost)
		return ping.Result{TargetID: t.ID, GroupID: t.GroupID, SentAt: probe.sentAt, Err: ping.ErrTimeout}, sharedReplyTooLate
	}
	c.settleLocked(s, probe, sharedProbeAnswered)
	return ping.Result{TargetID: t.ID, GroupID: t.GroupID, SentAt: probe.sentAt, RTT: rtt, OK: true}, sharedReplyCredited
}
