package live

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/wire"
)

// Fixed pieces of the wire format.
var (
	resultsSuffix  = []byte("]}")
	snapshotPrefix = []byte(`{"type":"snapshot","group":`)
	updatedPrefix  = []byte(`{"type":"group_updated","group":`)
	targetsKey     = []byte(`,"targets":`)
	groupSuffix    = []byte("}}")
	pongMessage    = []byte(`{"type":"pong"}`)
)

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' {
			raw, _ := json.Marshal(s) // a string always marshals
			return append(b, raw...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendRTT writes microseconds as milliseconds with µs precision.
func appendRTT(b []byte, us int32) []byte {
	return strconv.AppendFloat(b, float64(us)/1000, 'f', -1, 64)
}

// appendItem writes one ITEM of a results message.
func appendItem(b, group []byte, it *liveItem) []byte {
	b = append(b, `{"g":`...)
	b = append(b, group...)
	b = append(b, `,"t":`...)
	b = append(b, it.target.quoted...)
	b = append(b, `,"loc":`...)
	b = append(b, it.target.quotedLoc...)
	b = append(b, `,"at":`...)
	b = strconv.AppendInt(b, it.at, 10)
	if it.ok {
		b = append(b, `,"ok":true,"rtt_ms":`...)
		b = appendRTT(b, it.rttUS)
	} else {
		b = append(b, `,"ok":false,"rtt_ms":null,"err":`...)
		b = appendString(b, it.err)
	}
	return append(b, '}')
}

// itemBytes is about how long appendItem makes it (a little more, never less for
// the usual round trip times).
func itemBytes(g *groupState, it *liveItem) int {
	return len(g.quoted) + len(it.target.quoted) + len(it.target.quotedLoc) + len(it.err) + 72
}

// encodeItems writes a group's items of one cut, each after a comma: the fragment
// every follower's results message splices in (the first one in a message without
// its comma).
func encodeItems(g *groupState, items []liveItem) []byte {
	return appendItems(make([]byte, 0, len(items)*(100+len(g.quoted))), g, items)
}

func appendItems(b []byte, g *groupState, items []liveItem) []byte {
	for i := range items {
		b = append(b, ',')
		b = appendItem(b, g.quoted, &items[i])
	}
	return b
}

// resultsPrefix opens the results message of cut seq.
func resultsPrefix(seq uint64) []byte {
	b := append([]byte(nil), `{"type":"results","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	return append(b, `,"items":[`...)
}

func itemOf(r *ping.Result, t *targetState) liveItem {
	it := liveItem{target: t, sample: sample{at: r.SentAt.UnixMilli(), ok: r.OK}}
	if r.OK {
		it.rttUS = int32(min(r.RTT.Microseconds(), 1<<31-1))
	} else {
		it.err = r.Err
		if it.err == "" {
			it.err = ping.ErrTimeout
		}
	}
	return it
}

// appendSample writes one of a snapshot target's samples; a failed one says why, as a
// results item does: "timeout", or the target's newest reason for a probe that never left.
func appendSample(b []byte, s sample, ts *targetState) []byte {
	b = append(b, `{"at":`...)
	b = strconv.AppendInt(b, s.at, 10)
	switch {
	case s.ok:
		b = append(b, `,"ok":true,"rtt_ms":`...)
		b = appendRTT(b, s.rttUS)
	case s.unsent:
		b = append(b, `,"ok":false,"rtt_ms":null,"err":`...)
		b = appendString(b, ts.unsent)
	default:
		b = append(b, `,"ok":false,"rtt_ms":null,"err":"timeout"`...)
	}
	return append(b, '}')
}

// appendTargets writes the "targets" array of a snapshot: each target as the REST API
// has it (wire.Target) with its live state at the group's first location, and its
// state at every location in "by_location" (wire.LiveTarget;
// TestSnapshotTargetsAreWireTargets holds the two to the same fields).
func appendTargets(b []byte, g *groupState, locs []string, online func(string) bool, now time.Time) []byte {
	b = append(b, '[')
	for i := range g.meta.Targets {
		t := &g.meta.Targets[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, t.ID)
		b = append(b, `,"address":`...)
		b = appendString(b, t.Address)
		b = append(b, `,"ip":`...)
		if t.IP.IsValid() {
			b = append(b, '"')
			b = t.IP.AppendTo(b)
			b = append(b, '"')
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"kind":"`...)
		b = append(b, wire.TargetKind(t)...)
		b = append(b, `","paused":`...)
		b = strconv.AppendBool(b, t.Paused)
		b = append(b, `,"created_at":"`...)
		b = t.CreatedAt.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"', ',')
		b = appendCell(b, g, t, locs[0], online(locs[0]), now)
		b = append(b, `,"by_location":{`...)
		for j, loc := range locs {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, loc)
			b = append(b, ':', '{')
			b = appendCell(b, g, t, loc, online(loc), now)
			b = append(b, '}')
		}
		b = append(b, "}}"...)
	}
	return append(b, ']')
}

// appendCell writes a target's live state at one location (wire.LiveCell's fields,
// without braces): state, last sample, loss over the last minute, recent samples
// oldest first.
func appendCell(b []byte, g *groupState, t *groups.Target, loc string, online bool, now time.Time) []byte {
	ts := g.targets[targetKey{t.ID, loc}]
	b = append(b, `"state":"`...)
	b = append(b, g.stateOf(t, ts, online)...)
	b = append(b, `","last":`...)
	if s, ok := ts.last(); ok {
		b = appendSample(b, s, ts)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"loss_1m":`...)
	if loss, ok := ts.loss1m(now); ok {
		b = strconv.AppendFloat(b, loss, 'f', -1, 64)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"recent":[`...)
	if ts != nil {
		for j := range ts.n {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendSample(b, ts.recent[(ts.next-ts.n+j+recentSamples)%recentSamples], ts)
		}
	}
	return append(b, ']')
}

// groupHead is the group object of a snapshot or group_updated for a follower with
// view v, as the REST API has it, without its targets and without its closing brace
// (the targets with live state follow).
func groupHead(g *groups.Group, v view) []byte {
	out := wire.GroupOf(g, v.role, len(g.Targets))
	out.Pinned = v.pinned
	b, err := json.Marshal(out)
	if err != nil { // only a time outside the years 0-9999 fails to marshal
		out.CreatedAt, out.UpdatedAt = time.Time{}, time.Time{}
		b, _ = json.Marshal(out)
	}
	return b[:len(b)-1]
}

// controlMessage encodes a small message (error, access_revoked, …).
func controlMessage(v any) []byte {
	b, _ := json.Marshal(v) // plain structs of strings always marshal
	return b
}

// Short names for the wire types of the control messages events.go and serve.go build.
type (
	helloUser    = wire.Identity
	helloMessage = wire.Hello
	idMessage    = wire.IDMessage
)

// notificationOf is the notification message that pushes n.
func notificationOf(n groups.Notification) wire.NotificationMessage {
	return wire.NotificationMessage{Type: wire.TypeNotification, Notification: wire.NotificationOf(&n)}
}
