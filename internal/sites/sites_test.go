package sites

import (
	"context"
	"encoding/json"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"pingdeck/internal/bus"
	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
	"pingdeck/internal/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memStore keeps agents and groups' assignments in memory.
type memStore struct {
	mu          sync.Mutex
	agents      []store.Agent
	assignments map[string]store.Assignment
	reads       int
}

func (m *memStore) GroupAssignment(_ context.Context, group string) (store.Assignment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	return m.assignments[group], nil
}

func (m *memStore) CreateAgent(_ context.Context, a *store.Agent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.agents {
		if b.Name == a.Name || b.Location == a.Location {
			return groups.Conflict("", "taken")
		}
	}
	m.agents = append(m.agents, *a)
	return nil
}

func (m *memStore) Agents(context.Context) ([]store.Agent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.agents), nil
}

func (m *memStore) DeleteAgent(_ context.Context, id string) (store.Agent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, a := range m.agents {
		if a.ID == id {
			m.agents = slices.Delete(m.agents, i, i+1)
			return a, nil
		}
	}
	return store.Agent{}, groups.NotFound("agent")
}

// fixedSource lists the same targets for every location asked about.
type fixedSource struct{ desired []ping.Desired }

func (f fixedSource) ActiveTargets(context.Context) ([]ping.Desired, error) { return f.desired, nil }
func (f fixedSource) ActiveTargetsOfGroup(_ context.Context, g string) ([]ping.Desired, error) {
	var out []ping.Desired
	for _, d := range f.desired {
		if d.GroupID == g {
			out = append(out, d)
		}
	}
	return out, nil
}
func (fixedSource) SetTargetIP(context.Context, string, netip.Addr) error { return nil }

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type rig struct {
	store *memStore
	reg   *Registry
	bus   *bus.Bus
	clock *clock
	seen  chan []wire.Location
}

func newRig(t *testing.T, desired []ping.Desired) *rig {
	t.Helper()
	b, err := bus.Open(bus.Config{StoreDir: filepath.Join(t.TempDir(), "bus"), Listen: "127.0.0.1:0", User: "pingdeck", Password: "a-long-bus-password"})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	r := &rig{bus: b, clock: c, seen: make(chan []wire.Location, 16), store: &memStore{assignments: map[string]store.Assignment{}}}
	r.reg = New(Options{Own: "local", Store: r.store, Bus: b, Now: c.Now,
		Probed: func(string) ping.Source { return fixedSource{desired} }})
	if err := r.reg.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.reg.Watch(func(l []wire.Location) { r.seen <- l })
	t.Cleanup(func() {
		for _, s := range r.reg.subs {
			_ = s.Unsubscribe()
		}
		b.Close()
	})
	return r
}

func (r *rig) status(t *testing.T, location string) {
	t.Helper()
	data, _ := json.Marshal(bus.AgentStatus{Name: location + "-1", Version: "v9", Targets: 3, ProbesPerS: 3})
	if err := r.bus.Conn().Publish(bus.AgentStatusSubject(location), data); err != nil {
		t.Fatal(err)
	}
	if err := r.bus.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) next(t *testing.T, what string) []wire.Location {
	t.Helper()
	select {
	case l := <-r.seen:
		return l
	case <-time.After(5 * time.Second):
		t.Fatalf("no locations change: %s", what)
		return nil
	}
}

func TestAnAgentSilentForTenSecondsIsOffline(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	a, _, err := r.reg.Enrol(ctx, "fra-1", "fra", "")
	if err != nil {
		t.Fatal(err)
	}
	if l := r.next(t, "enrolled"); len(l) != 2 || l[1].Online || l[1].LastSeen != nil {
		t.Fatalf("a new agent: %+v, want it offline and never seen", l)
	}
	if !slices.Equal(must(r.reg.Known(ctx)), []string{"local", "fra"}) || !r.reg.Accepts("fra") || r.reg.Accepts("nyc") {
		t.Fatal("the enrolled location is not known")
	}

	r.status(t, "fra")
	if l := r.next(t, "status"); !l[1].Online || !l[1].LastSeen.Equal(r.clock.Now()) {
		t.Fatalf("after its status: %+v", l)
	}
	views, err := r.reg.Agents(ctx)
	if err != nil || len(views) != 1 || !views[0].Online || views[0].Version != "v9" || views[0].Targets != 3 || views[0].ProbesPerS != 3 {
		t.Fatalf("Agents = %+v, %v", views, err)
	}

	r.clock.add(OfflineAfter - time.Second)
	r.reg.notifyIfChanged()
	select {
	case l := <-r.seen:
		t.Fatalf("offline too soon: %+v", l)
	default:
	}
	r.clock.add(time.Second)
	r.reg.notifyIfChanged()
	if l := r.next(t, "silent"); l[1].Online {
		t.Fatalf("silent for %s: %+v, want offline", OfflineAfter, l)
	}

	if err := r.reg.Revoke(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if l := r.next(t, "revoked"); len(l) != 1 || r.reg.Accepts("fra") {
		t.Fatalf("after revoking: %+v", l)
	}
}

func TestAssignmentsAnswerTheGroupsThenEachGroup(t *testing.T) {
	one, two := "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	desired := []ping.Desired{
		{Address: "192.0.2.1", Target: ping.Target{ID: "t1", GroupID: one, Interval: time.Second, Timeout: time.Second, Size: 56}},
		{Address: "192.0.2.2", Target: ping.Target{ID: "t2", GroupID: one, Interval: time.Second, Timeout: time.Second, Size: 56}},
		{Address: "router.example", Target: ping.Target{ID: "t3", GroupID: two, Interval: 5 * time.Second, Timeout: time.Second, Size: 100}},
	}
	r := newRig(t, desired)
	ctx := context.Background()
	_, cred, err := r.reg.Enrol(ctx, "fra-1", "fra", "")
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := cred.ConnectOptions()
	nc, err := nats.Connect("nats://"+r.bus.ListenAddr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	all, err := bus.RequestAssignments(nc, "fra", bus.AssignmentsRequest{})
	if err != nil || !slices.Equal(all.Groups, []string{one, two}) {
		t.Fatalf("groups: %+v, %v", all, err)
	}
	g2, err := bus.RequestAssignments(nc, "fra", bus.AssignmentsRequest{Group: two})
	want := bus.Assignment{ID: "t3", Group: two, Address: "router.example", IntervalMs: 5000, TimeoutMs: 1000, Size: 100}
	if err != nil || len(g2.Targets) != 1 || g2.Targets[0] != want {
		t.Fatalf("group two: %+v, %v", g2, err)
	}

	// A change to a group reaches the agent.
	sub, err := nc.SubscribeSync(bus.AssignmentChangedSubject("fra"))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	r.reg.HandleChange(groups.Change{Kind: groups.ChangeGroupUpdated, GroupID: one})
	r.reg.HandleChange(groups.Change{Kind: groups.ChangeShare, GroupID: two}) // not about probing
	m, err := sub.NextMsg(2 * time.Second)
	if err != nil || string(m.Data) != `{"group":"`+one+`"}` {
		t.Fatalf("change notice: %v %v", m, err)
	}
	if m, err := sub.NextMsg(200 * time.Millisecond); err == nil {
		t.Fatalf("a share change was sent to the agent: %s", m.Data)
	}

	// The server's own location is not an agent's.
	if _, err := bus.RequestAssignments(r.bus.Conn(), "local", bus.AssignmentsRequest{}); err == nil {
		t.Fatal("assignments answered for the server's own location")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestAgentsReportOnlyWhatTheyWereGiven(t *testing.T) {
	r := newRig(t, nil)
	mine, theirs := "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	r.store.assignments[mine] = store.Assignment{Locations: []string{"local", "fra"}, Targets: map[string]bool{"a": true, "b": true}}
	r.store.assignments[theirs] = store.Assignment{Locations: []string{"local"}, Targets: map[string]bool{"c": true}}
	if _, _, err := r.reg.Enrol(context.Background(), "fra-1", "fra", ""); err != nil {
		t.Fatal(err)
	}
	batch := func(ids ...string) []ping.Result {
		out := make([]ping.Result, len(ids))
		for i, id := range ids {
			out[i] = ping.Result{TargetID: id}
		}
		return out
	}
	ids := func(rs []ping.Result) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.TargetID)
		}
		return out
	}
	for _, tc := range []struct {
		location, group string
		in              []ping.Result
		kept            []string
		reason          string
	}{
		{"local", theirs, batch("c", "x"), []string{"c", "x"}, ""},         // the server's own: trusted
		{"fra", mine, batch("a", "b"), []string{"a", "b"}, ""},             // its own group and targets
		{"fra", mine, batch("a", "c"), []string{"a"}, bus.DropNotAssigned}, // another group's target
		{"fra", theirs, batch("c"), nil, bus.DropNotAssigned},              // a group not probed from fra
		{"nyc", mine, batch("a"), nil, bus.DropUnknownLocation},            // no such agent
		{"fra", bus.ProgressGroup, nil, nil, ""},                           // a progress mark
	} {
		kept, reason := r.reg.Admit(tc.location, tc.group, tc.in)
		if !slices.Equal(ids(kept), tc.kept) || reason != tc.reason {
			t.Errorf("Admit(%s, %s, %v) = %v, %q; want %v, %q", tc.location, tc.group, ids(tc.in), ids(kept), reason, tc.kept, tc.reason)
		}
	}
	// Read once, then from the cache until the group changes.
	reads := r.store.reads
	r.reg.Admit("fra", mine, batch("a"))
	if r.store.reads != reads {
		t.Fatal("the assignment was read again without a change")
	}
	r.store.mu.Lock()
	r.store.assignments[mine] = store.Assignment{Locations: []string{"local"}, Targets: map[string]bool{"a": true}}
	r.store.mu.Unlock()
	r.reg.HandleChange(groups.Change{Kind: groups.ChangeGroupUpdated, GroupID: mine})
	if kept, reason := r.reg.Admit("fra", mine, batch("a")); len(kept) != 0 || reason != bus.DropNotAssigned {
		t.Fatalf("after fra was taken off the group: kept %v (%q)", ids(kept), reason)
	}
}
