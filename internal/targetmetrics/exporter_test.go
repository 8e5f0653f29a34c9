package targetmetrics

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// fakeCatalogue is the store's list of exported targets, set by the test.
type fakeCatalogue struct {
	mu      sync.Mutex
	targets []store.MetricsTarget
	reads   chan struct{}
}

func (c *fakeCatalogue) set(ts ...store.MetricsTarget) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.targets = ts
}

func (c *fakeCatalogue) MetricsTargets(context.Context) ([]store.MetricsTarget, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reads != nil {
		defer func() { c.reads <- struct{}{} }()
	}
	return slices.Clone(c.targets), nil
}

// followRecorder is a feed that records which groups are followed; results are
// handed to Observe directly.
type followRecorder struct {
	mu       sync.Mutex
	followed map[string]bool
	follows  chan string // when set, told of each Follow
}

func (f *followRecorder) Follow(g string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.followed[g] = true
	if f.follows != nil {
		f.follows <- g
	}
	return nil
}

func (f *followRecorder) Unfollow(g string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.followed, g)
}

func (f *followRecorder) Run(ctx context.Context, _ func([]ping.Result)) { <-ctx.Done() }

func (f *followRecorder) groups() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for g := range f.followed {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

const (
	groupA  = "00000000-0000-0000-0000-00000000000a"
	groupB  = "00000000-0000-0000-0000-00000000000b"
	target1 = "00000000-0000-0000-0000-000000000001"
	target2 = "00000000-0000-0000-0000-000000000002"
	target3 = "00000000-0000-0000-0000-000000000003"
)

var (
	loopback = store.MetricsTarget{ID: target1, GroupID: groupA, GroupName: "core", Address: "127.0.0.1", IP: netip.MustParseAddr("127.0.0.1")}
	named    = store.MetricsTarget{ID: target2, GroupID: groupA, GroupName: "core", Address: "localhost", IP: netip.MustParseAddr("127.0.0.2")}
)

func newTestExporter(t *testing.T, ts ...store.MetricsTarget) (*Exporter, *fakeCatalogue, *followRecorder) {
	t.Helper()
	cat := &fakeCatalogue{targets: ts}
	feed := &followRecorder{followed: map[string]bool{}}
	e := New(cat, feed, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := e.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e, cat, feed
}

func result(target, group, location string, rtt time.Duration, err string) ping.Result {
	return ping.Result{TargetID: target, GroupID: group, Location: location, SentAt: time.Now(), OK: err == "", RTT: rtt, Err: err}
}

// The counters and the histogram count what the results say, per target and
// location, with smokeping_prober's names, labels, help and buckets.
func TestExporterCountsResults(t *testing.T) {
	e, _, _ := newTestExporter(t, loopback, named)
	e.Observe([]ping.Result{
		result(target1, groupA, "local", 300*time.Microsecond, ""),
		result(target1, groupA, "local", 3*time.Millisecond, ""),
		result(target1, groupA, "local", 0, ping.ErrTimeout),
		result(target1, groupA, "", 0, "send: no route to host"),
		result(target1, groupA, "paris", 20*time.Millisecond, ""),
		result(target2, groupA, "local", 0, "resolve localhost: no addresses"),
		result(target3, groupB, "local", time.Millisecond, ""), // not exported
	})
	want := `
# HELP smokeping_requests_total Counter of pings sent.
# TYPE smokeping_requests_total counter
smokeping_requests_total{group="core",host="127.0.0.1",ip="127.0.0.1",location="local",source=""} 3
smokeping_requests_total{group="core",host="127.0.0.1",ip="127.0.0.1",location="paris",source=""} 1
smokeping_requests_total{group="core",host="localhost",ip="127.0.0.2",location="local",source=""} 0
# HELP smokeping_send_errors_total The number of errors when Pinger attempts to send packets.
# TYPE smokeping_send_errors_total counter
smokeping_send_errors_total{group="core",host="127.0.0.1",ip="127.0.0.1",location="local",source=""} 1
smokeping_send_errors_total{group="core",host="127.0.0.1",ip="127.0.0.1",location="paris",source=""} 0
smokeping_send_errors_total{group="core",host="localhost",ip="127.0.0.2",location="local",source=""} 0
`
	if err := testutil.CollectAndCompare(e.For(nil), strings.NewReader(want), "smokeping_requests_total", "smokeping_send_errors_total"); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e.For(nil))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var checked bool
	for _, mf := range mfs {
		if mf.GetName() != "smokeping_response_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelValue(m.GetLabel(), "location") != "local" || labelValue(m.GetLabel(), "host") != "127.0.0.1" {
				continue
			}
			h := m.GetHistogram()
			if h.GetSampleCount() != 2 || math.Abs(h.GetSampleSum()-0.0033) > 1e-12 {
				t.Errorf("histogram count %d sum %v, want 2 answers summing 3.3 ms", h.GetSampleCount(), h.GetSampleSum())
			}
			cum := map[float64]uint64{}
			for _, b := range h.GetBucket() {
				cum[b.GetUpperBound()] = b.GetCumulativeCount()
			}
			if len(h.GetBucket()) != len(Buckets) || cum[0.0002] != 0 || cum[0.0004] != 1 || cum[0.0032] != 2 || cum[26.2144] != 2 {
				t.Errorf("buckets %v: want smokeping_prober's 20, 300 µs in le=0.0004, 3 ms in le=0.0032", cum)
			}
			checked = true
		}
	}
	if !checked {
		t.Fatal("no histogram for 127.0.0.1 probed from local")
	}
}

func labelValue(ls []*dto.LabelPair, name string) string {
	for _, l := range ls {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// Reload follows the exported groups' results and stops following the others; a
// target gone or given a new address loses its series, and a new one starts at zero.
func TestExporterReloadFollowsCatalogue(t *testing.T) {
	e, cat, feed := newTestExporter(t, loopback)
	if got := feed.groups(); !slices.Equal(got, []string{groupA}) {
		t.Fatalf("followed %v, want [%s]", got, groupA)
	}
	e.Observe([]ping.Result{result(target1, groupA, "local", time.Millisecond, "")})

	other := store.MetricsTarget{ID: target3, GroupID: groupB, GroupName: "edge", Address: "127.0.0.3", IP: netip.MustParseAddr("127.0.0.3")}
	moved := loopback
	moved.IP = netip.MustParseAddr("127.0.0.9")
	cat.set(moved, other)
	if err := e.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := feed.groups(); !slices.Equal(got, []string{groupA, groupB}) {
		t.Fatalf("followed %v, want both groups", got)
	}
	if got := testutil.CollectAndCount(e.For(nil), "smokeping_requests_total"); got != 0 {
		t.Fatalf("after the address changed: %d series, want the old one dropped", got)
	}
	e.Observe([]ping.Result{result(target1, groupA, "local", time.Millisecond, "")})
	want := `
# HELP smokeping_requests_total Counter of pings sent.
# TYPE smokeping_requests_total counter
smokeping_requests_total{group="core",host="127.0.0.1",ip="127.0.0.9",location="local",source=""} 1
`
	if err := testutil.CollectAndCompare(e.For(nil), strings.NewReader(want), "smokeping_requests_total"); err != nil {
		t.Fatal(err)
	}

	cat.set(other) // group A's metrics turned off
	if err := e.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := feed.groups(); !slices.Equal(got, []string{groupB}) {
		t.Fatalf("followed %v, want only %s", got, groupB)
	}
	if got := testutil.CollectAndCount(e.For(nil), "smokeping_requests_total"); got != 0 {
		t.Fatalf("after the group's metrics went off: %d series, want none", got)
	}
}

// For shows a scraper only the groups it may see.
func TestExporterForFiltersGroups(t *testing.T) {
	other := store.MetricsTarget{ID: target3, GroupID: groupB, GroupName: "edge", Address: "127.0.0.3", IP: netip.MustParseAddr("127.0.0.3")}
	e, _, _ := newTestExporter(t, loopback, other)
	e.Observe([]ping.Result{
		result(target1, groupA, "local", time.Millisecond, ""),
		result(target3, groupB, "local", time.Millisecond, ""),
	})
	onlyB := e.For(func(g string) bool { return g == groupB })
	want := `
# HELP smokeping_requests_total Counter of pings sent.
# TYPE smokeping_requests_total counter
smokeping_requests_total{group="edge",host="127.0.0.3",ip="127.0.0.3",location="local",source=""} 1
`
	if err := testutil.CollectAndCompare(onlyB, strings.NewReader(want), "smokeping_requests_total"); err != nil {
		t.Fatal(err)
	}
}

// A change to groups or targets makes Run read the catalogue again.
func TestExporterRunRereadsOnChange(t *testing.T) {
	cat := &fakeCatalogue{reads: make(chan struct{}, 10)}
	feed := &followRecorder{followed: map[string]bool{}, follows: make(chan string, 10)}
	e := New(cat, feed, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { e.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	<-cat.reads // the first read, at start: nothing exported

	cat.set(loopback)
	e.HandleChange(groups.Change{Kind: groups.ChangeGroupUpdated, GroupID: groupA})
	if g := <-feed.follows; g != groupA {
		t.Fatalf("followed %s after the change, want %s", g, groupA)
	}
}
