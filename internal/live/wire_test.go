package live

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/wire"
)

// The live stream writes results items and snapshot targets by hand. These tests hold
// that output to the wire package's types, which the REST API encodes from: a field
// renamed, added or dropped on either side fails here.

// decodeStrict decodes data into v, refusing fields v does not have, and checks that
// every field v always carries (no omitempty) is there.
func decodeStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s does not decode as %T: %v", data, v, err)
	}
}

// requiredKeys are the JSON names of t's fields without omitempty, embedded structs'
// fields included.
func requiredKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && name == "":
			for _, k := range requiredKeys(f.Type) {
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		case name == "-" || strings.Contains(opts, "omitempty"):
		default:
			keys = append(keys, name)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// checkKeys fails unless each object of the JSON array (or the object) data has
// every required key of typ.
func checkKeys(t *testing.T, data []byte, typ reflect.Type) {
	t.Helper()
	var objs []map[string]json.RawMessage
	if data[0] == '{' {
		objs = make([]map[string]json.RawMessage, 1)
		if err := json.Unmarshal(data, &objs[0]); err != nil {
			t.Fatal(err)
		}
	} else if err := json.Unmarshal(data, &objs); err != nil {
		t.Fatal(err)
	}
	want := requiredKeys(typ)
	for _, o := range objs {
		for _, k := range want {
			if _, ok := o[k]; !ok {
				t.Errorf("%s lacks %q, which %v always has", data, k, typ)
			}
		}
	}
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func rtt(ms float64) *float64 { return &ms }

func TestSnapshotTargetsAreWireTargets(t *testing.T) {
	created := time.Date(2026, 3, 4, 5, 6, 7, 890123000, time.UTC)
	now := time.Now()
	g := newGroupState("8f1c1f5e-0000-4000-8000-000000000001", 0)
	g.setMeta(&groups.Group{ID: g.id, Name: "edge <core> & \"lab\"", OwnerID: "u1", OwnerName: "ann",
		Visibility: groups.Public, Interval: time.Second, Timeout: 800 * time.Millisecond, PacketSize: 56,
		CreatedAt: created, UpdatedAt: created.Add(time.Hour),
		Targets: []groups.Target{
			{ID: "t-ip", Address: "192.0.2.1", IP: netip.MustParseAddr("192.0.2.1"), CreatedAt: created},
			{ID: "t-v6", Address: "2001:db8::1", IP: netip.MustParseAddr("2001:db8::1"), CreatedAt: created},
			{ID: "t-host", Address: "router.example", IP: netip.MustParseAddr("192.0.2.7"), CreatedAt: created},
			{ID: "t-unresolved", Address: "nowhere.example", CreatedAt: created},
			{ID: "t-paused", Address: "192.0.2.9", IP: netip.MustParseAddr("192.0.2.9"), Paused: true, CreatedAt: created},
		}})
	at := now.Add(-2 * time.Second).UnixMilli()
	g.target("t-ip", "local").record(liveItem{sample: sample{at: at, ok: true, rttUS: 1234}})
	g.target("t-ip", "local").record(liveItem{sample: sample{at: at + 1000, ok: false}, err: "timeout"})
	g.target("t-host", "local").record(liveItem{sample: sample{at: at, ok: true, rttUS: 250}})
	g.target("t-unresolved", "local").record(liveItem{sample: sample{at: at, ok: false}, err: "resolve nowhere.example: no such host"})
	g.target("t-ip", "fra").record(liveItem{sample: sample{at: at, ok: true, rttUS: 40000}})

	// Probed from here and from fra, whose agent is offline.
	out := appendTargets(nil, g, []string{"local", "fra"}, func(loc string) bool { return loc != "fra" }, now)
	var got []wire.LiveTarget
	decodeStrict(t, out, &got)
	checkKeys(t, out, reflect.TypeFor[wire.LiveTarget]())

	lost := wire.Sample{At: at + 1000, Err: "timeout"}
	unsent := wire.Sample{At: at, Err: "resolve nowhere.example: no such host"}
	live := map[string]wire.LiveTarget{
		"t-ip": {State: wire.StateDown, Last: &lost, Loss1m: rtt(0.5),
			Recent: []wire.Sample{{At: at, OK: true, RTTMs: rtt(1.234)}, lost}},
		"t-v6":         {State: wire.StateUnknown, Recent: []wire.Sample{}},
		"t-host":       {State: wire.StateUp, Last: &wire.Sample{At: at, OK: true, RTTMs: rtt(0.25)}, Loss1m: rtt(0), Recent: []wire.Sample{{At: at, OK: true, RTTMs: rtt(0.25)}}},
		"t-unresolved": {State: wire.StateDown, Last: &unsent, Recent: []wire.Sample{unsent}}, // no loss: it never left
		"t-paused":     {State: wire.StatePaused, Recent: []wire.Sample{}},
	}
	if len(got) != len(g.meta.Targets) {
		t.Fatalf("%d targets in the snapshot, want %d", len(got), len(g.meta.Targets))
	}
	fraSample := wire.Sample{At: at, OK: true, RTTMs: rtt(40)}
	for i := range g.meta.Targets {
		want := live[g.meta.Targets[i].ID]
		want.Target = wire.TargetOf(&g.meta.Targets[i]) // exactly what GET /api/v1/groups/{id} says
		fra := wire.LiveCell{State: wire.StateOffline, Recent: []wire.Sample{}}
		switch want.ID {
		case "t-ip":
			fra = wire.LiveCell{State: wire.StateOffline, Last: &fraSample, Loss1m: rtt(0), Recent: []wire.Sample{fraSample}}
		case "t-paused":
			fra.State = wire.StatePaused
		}
		want.ByLocation = map[string]wire.LiveCell{
			"local": {State: want.State, Last: want.Last, Loss1m: want.Loss1m, Recent: want.Recent},
			"fra":   fra,
		}
		sameJSON(t, "snapshot target "+want.ID, got[i], want)
	}
	if got[0].Kind != wire.KindIP || got[2].Kind != wire.KindHostname || got[3].IP != nil {
		t.Errorf("kind or ip wrong: %+v", got)
	}

	// The whole message: the group object is the REST one for this viewer.
	h := testHub(t, Options{})
	v := view{role: groups.RoleViewer, pinned: true}
	h.mu.Lock()
	msg := h.groupMessage(g, v, snapshotPrefix, kindSnapshot)
	h.mu.Unlock()
	var gm wire.GroupMessage
	decodeStrict(t, bytes.Join(msg.parts, nil), &gm)
	if gm.Type != wire.TypeSnapshot {
		t.Errorf("type %q, want %q", gm.Type, wire.TypeSnapshot)
	}
	want := wire.GroupOf(g.meta, v.role, len(g.meta.Targets))
	want.Pinned = true
	sameJSON(t, "snapshot group", gm.Group.Group, want)
	var here []wire.LiveTarget // the hub's group names no locations: probed here only
	decodeStrict(t, appendTargets(nil, g, []string{"local"}, func(string) bool { return true }, now), &here)
	sameJSON(t, "snapshot group's targets", gm.Group.Targets, here)
}

func TestResultItemsAreWireItems(t *testing.T) {
	ts := newTargetState("t-1", "local")
	g := newGroupState("g-1", 0)
	for _, tc := range []struct {
		it   liveItem
		want wire.Item
	}{
		{liveItem{target: ts, sample: sample{at: 1700000000123, ok: true, rttUS: 1500}},
			wire.Item{G: "g-1", T: "t-1", Loc: "local", At: 1700000000123, OK: true, RTTMs: rtt(1.5)}},
		{liveItem{target: ts, sample: sample{at: 1700000000124}, err: "resolve <x>: no such host"},
			wire.Item{G: "g-1", T: "t-1", Loc: "local", At: 1700000000124, Err: "resolve <x>: no such host"}},
	} {
		out := appendItem(nil, g.quoted, &tc.it)
		var got wire.Item
		decodeStrict(t, out, &got)
		checkKeys(t, out, reflect.TypeFor[wire.Item]())
		sameJSON(t, "results item", got, tc.want)
	}
	var res wire.Results
	b := append(resultsPrefix(42), encodeItems(g, []liveItem{{target: ts, sample: sample{at: 1, ok: true}}})[1:]...)
	decodeStrict(t, append(b, resultsSuffix...), &res)
	if res.Type != wire.TypeResults || res.Seq != 42 || len(res.Items) != 1 {
		t.Errorf("results message decoded as %+v", res)
	}
	var pong wire.Pong
	decodeStrict(t, pongMessage, &pong)
	if pong.Type != wire.TypePong {
		t.Errorf("pong is %s", pongMessage)
	}
}
