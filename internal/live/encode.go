package live

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
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
	return len(g.quoted) + len(it.target.quoted) + len(it.err) + 64
}

// encodeItems writes a group's items of one tick, each after a comma: the fragment
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

// resultsPrefix opens the results message of tick seq.
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

func appendSample(b []byte, s sample) []byte {
	b = append(b, `{"at":`...)
	b = strconv.AppendInt(b, s.at, 10)
	if s.ok {
		b = append(b, `,"ok":true,"rtt_ms":`...)
		b = appendRTT(b, s.rttUS)
	} else {
		b = append(b, `,"ok":false,"rtt_ms":null`...)
	}
	return append(b, '}')
}

// appendTargets writes the "targets" array of a snapshot: each target with its state,
// last sample, loss over the last minute and recent samples, oldest first.
func appendTargets(b []byte, g *groupState, now time.Time) []byte {
	b = append(b, '[')
	for i := range g.meta.Targets {
		t := &g.meta.Targets[i]
		ts := g.targets[t.ID]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, t.ID)
		b = append(b, `,"address":`...)
		b = appendString(b, t.Address)
		b = append(b, `,"ip":`...)
		if t.IP.IsValid() {
			b = appendString(b, t.IP.String())
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"paused":`...)
		b = strconv.AppendBool(b, t.Paused)
		b = append(b, `,"state":"`...)
		b = append(b, g.stateOf(t, ts)...)
		b = append(b, `","last":`...)
		if s, ok := ts.last(); ok {
			b = appendSample(b, s)
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
				b = appendSample(b, ts.recent[(ts.next-ts.n+j+recentSamples)%recentSamples])
			}
		}
		b = append(b, "]}"...)
	}
	return append(b, ']')
}

// controlMessage encodes a small message (error, access_revoked, …).
func controlMessage(v any) []byte {
	b, _ := json.Marshal(v) // plain structs of strings always marshal
	return b
}

type helloUser struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	IsAdmin     bool   `json:"is_admin"`
}

type helloMessage struct {
	Type        string    `json:"type"`
	User        helloUser `json:"user"`
	ServerTime  string    `json:"server_time"`
	ResumeToken string    `json:"resume_token"`
	Seq         uint64    `json:"seq"`
}

type idMessage struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type errorMessage struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	ID      string `json:"id,omitempty"`
}

// Notification is a notification on the wire, the same on the REST API and the stream
// (PROTOCOL.md NOTIFICATION), so the two can never drift apart.
type Notification struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	From      string     `json:"from"`
	GroupID   string     `json:"group_id"`
	GroupName string     `json:"group_name"`
	Message   string     `json:"message"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at"`
}

// NotificationOf is n as it goes on the wire.
func NotificationOf(n *groups.Notification) Notification {
	return Notification{ID: n.ID, Kind: n.Kind, From: n.FromUsername, GroupID: n.GroupID, GroupName: n.GroupName,
		Message: n.Message, CreatedAt: n.CreatedAt.UTC(), ReadAt: n.ReadAt}
}

type notificationMessage struct {
	Type         string       `json:"type"`
	Notification Notification `json:"notification"`
}

func notificationOf(n groups.Notification) notificationMessage {
	return notificationMessage{Type: "notification", Notification: NotificationOf(&n)}
}
