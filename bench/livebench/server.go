//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"pingdeck/internal/api"
	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/live"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

const serverRole = "-server-role"

// serverReport is what the server process measured.
type serverReport struct {
	CPUPercent     float64
	RSSIdleMB      float64
	RSSConnectedMB float64
	MessagesPerSec float64
	MBPerSec       float64
	HeapIdleMB     float64 // Go heap in use, idle
	HeapMB         float64 // … connected
	StackIdleMB    float64 // goroutine stacks, idle
	StackMB        float64 // … connected
	FlushP50ms     float64 // cut → written to the socket, upper bucket bound
	FlushP99ms     float64
	HandlerP99ms   float64 // GET /api/v1/me inside the server while connected, upper bucket bound
	Slow, Dropped  int64
	GCPauses       uint64  // stop-the-world pauses for GC while measuring
	GCPauseMaxms   float64 // … the longest, upper bucket bound
	// Results per second handed to the route and reaching hub.Publish while measuring:
	// equal but for those in flight at the window's ends, unless the route loses some.
	SubmittedPerSec, DeliveredPerSec float64
	BusPublishErrors                 int64 // batches the stream did not confirm (bus path)
	BusDropped                       int64 // results the publisher dropped (bus path)
}

// runServer is the server process: the real API and hub over a fresh SQLite database,
// public groups of synthetic targets, and a publisher standing in for the scheduler
// whose results reach the hub by -path (pathBus or pathDirect).
func runServer(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	pool := fs.Int("pool", 40, "")
	perGroup := fs.Int("targets", 50, "")
	warmup := fs.Duration("warmup", 5*time.Second, "")
	measure := fs.Duration("duration", 20*time.Second, "")
	n := fs.Int("n", 1000, "")
	path := fs.String("path", pathBus, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path != pathBus && *path != pathDirect {
		return fmt.Errorf("server: -path %q is not %s or %s", *path, pathBus, pathDirect)
	}
	raiseFileLimit()
	dir, err := os.MkdirTemp("", "livebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var changes groups.Fanout // the store announces its changes; the hub subscribes
	st, err := store.Open(ctx, "sqlite:"+dir+"/bench.db", store.Options{Migrate: true, Changes: &changes})
	if err != nil {
		return err
	}
	defer st.Close()
	accounts := auth.NewService(st, auth.Options{BcryptCost: bcrypt.MinCost})
	owner, err := accounts.CreateUser(ctx, auth.NewUser{Username: "owner", Password: "owner-password"})
	if err != nil {
		return err
	}
	viewer, err := accounts.CreateUser(ctx, auth.NewUser{Username: "viewer", Password: "viewer-password"})
	if err != nil {
		return err
	}
	token, _, err := accounts.CreateToken(ctx, viewer.ID, "bench", 0)
	if err != nil {
		return err
	}
	var groupIDs []string
	var targets []ping.Result // one per target, reused as a template
	now := time.Now().UTC()
	for gi := range *pool {
		g := &groups.Group{ID: uuid.NewString(), OwnerID: owner.ID, Name: fmt.Sprintf("pool %d", gi), Visibility: groups.Public,
			Interval: time.Second, Timeout: time.Second, PacketSize: 56, CreatedAt: now.Add(time.Duration(gi) * time.Millisecond), UpdatedAt: now}
		for ti := range *perGroup {
			ip := netip.AddrFrom4([4]byte{198, 18, byte(gi), byte(ti + 1)})
			g.Targets = append(g.Targets, groups.Target{ID: uuid.NewString(), Address: ip.String(), IP: ip, CreatedAt: now})
			targets = append(targets, ping.Result{GroupID: g.ID, TargetID: g.Targets[ti].ID})
		}
		if _, err := st.CreateGroup(ctx, g, store.Quota{}); err != nil {
			return err
		}
		groupIDs = append(groupIDs, g.ID)
	}

	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	route, err := openRoute(ctx, *path, dir, reg, log)
	if err != nil {
		return err
	}
	defer route.Close() // after the publisher and the hub have stopped (deferred later)
	// Every client is the same user here.
	hub, err := live.NewHub(live.Options{Store: st, Credentials: accounts, Registry: reg, Logger: log,
		MaxStreamsPerUser: 1 << 20, Feed: route.hubFeed()})
	if err != nil {
		return err
	}
	changes.Subscribe(hub)
	handler, err := api.NewHandler(api.Deps{Store: st, Accounts: accounts, Logger: log, Registry: reg,
		Ready: st.Ping, Live: hub, SessionTTL: time.Hour,
		Limits: groups.Limits{MinInterval: 200 * time.Millisecond, MaxTargetsPerUser: 1 << 20}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	hubCtx, stopHub := context.WithCancel(ctx)
	var hubDone sync.WaitGroup
	hubDone.Add(1)
	go func() {
		defer hubDone.Done()
		var feeding sync.WaitGroup // the feed delivers to the hub, as in cmd/server/app.go
		feeding.Go(func() { route.runFeed(hubCtx, hub) })
		hub.Run(hubCtx)
		feeding.Wait()
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = hub.Shutdown(sctx)
		stopHub()
		hubDone.Wait()
	}()
	// Idle: no clients, no results.
	var r serverReport
	r.RSSIdleMB = rssMB()
	r.HeapIdleMB, r.StackIdleMB = heapMB()
	fmt.Fprintf(stdout, "ready %s %s %s\n", ln.Addr(), token, strings.Join(groupIDs, ","))

	in := bufio.NewScanner(stdin)
	if !in.Scan() || in.Text() != "start" {
		return fmt.Errorf("server: no start")
	}
	pubCtx, stopPub := context.WithCancel(ctx)
	var pubDone sync.WaitGroup
	pubDone.Add(2)
	go func() { defer pubDone.Done(); route.runPublisher(pubCtx) }()
	go func() {
		defer pubDone.Done()
		publish(pubCtx, func(res ping.Result) { route.submit(hub, res) }, targets)
	}()
	defer func() { stopPub(); pubDone.Wait() }()
	select {
	case <-time.After(*warmup):
	case <-ctx.Done():
		return ctx.Err()
	}

	fmt.Fprintln(stdout, "measuring")
	writeHeapProfile(os.Getenv("LIVEBENCH_HEAPPROFILE") + ".base") // for pprof -base: allocations while measuring
	stopProfile := startCPUProfile("LIVEBENCH_CPUPROFILE")
	stopTrace := startTrace("LIVEBENCH_TRACE")
	before := gather(reg)
	pauses0 := gcPauses()
	submitted0, delivered0 := route.submitted.Load(), route.delivered.Load()
	cpu0, t0 := cpuTime(), time.Now()
	select { // the orchestrator times the API meanwhile, from its own process
	case <-time.After(*measure):
	case <-ctx.Done():
		return ctx.Err()
	}
	cpu1, t1 := cpuTime(), time.Now()
	submitted1, delivered1 := route.submitted.Load(), route.delivered.Load()
	r.GCPauses, r.GCPauseMaxms = pausesBetween(pauses0, gcPauses())
	after := gather(reg)
	stopProfile()
	stopTrace()
	r.RSSConnectedMB = rssMB()
	r.HeapMB, r.StackMB = heapMB()
	writeHeapProfile(os.Getenv("LIVEBENCH_HEAPPROFILE"))
	secs := t1.Sub(t0).Seconds()
	r.CPUPercent = 100 * (cpu1 - cpu0).Seconds() / secs
	r.MessagesPerSec = (after["pingdeck_live_messages_sent_total"] - before["pingdeck_live_messages_sent_total"]) / secs
	r.MBPerSec = (after["pingdeck_live_bytes_sent_total"] - before["pingdeck_live_bytes_sent_total"]) / secs / 1e6
	r.FlushP50ms = histQuantile(before, after, "pingdeck_live_delivery_seconds", 0.5)
	r.FlushP99ms = histQuantile(before, after, "pingdeck_live_delivery_seconds", 0.99)
	r.HandlerP99ms = histQuantile(before, after, `pingdeck_http_request_duration_seconds{route="/api/v1/me"}`, 0.99)
	r.Slow = int64(after["pingdeck_live_slow_disconnects_total"])
	r.Dropped = int64(after["pingdeck_live_publish_dropped_total"])
	r.SubmittedPerSec = float64(submitted1-submitted0) / secs
	r.DeliveredPerSec = float64(delivered1-delivered0) / secs
	r.BusPublishErrors = int64(after["pingdeck_bus_publish_errors_total"])
	r.BusDropped = int64(after["pingdeck_results_dropped_total"])
	if clients := after["pingdeck_live_clients"]; int(clients) != *n {
		fmt.Fprintf(stderr, "livebench: %v of %d clients connected at the end\n", clients, *n)
	}
	out, _ := json.Marshal(r)
	fmt.Fprintf(stdout, "report %s\n", out)
	for in.Scan() { // keep serving until the clients have reported
	}
	return nil
}

// gcPauses is the runtime's histogram of stop-the-world pauses for GC so far.
func gcPauses() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return &metrics.Float64Histogram{}
	}
	return s[0].Value.Float64Histogram()
}

// pausesBetween counts the pauses between two readings of gcPauses and bounds the
// longest of them (ms, its bucket's upper bound).
func pausesBetween(a, b *metrics.Float64Histogram) (n uint64, maxMs float64) {
	for i := range b.Counts {
		d := b.Counts[i]
		if i < len(a.Counts) {
			d -= a.Counts[i]
		}
		if d > 0 {
			n += d
			maxMs = b.Buckets[i+1] * 1000
		}
	}
	return n, maxMs
}

// publish submits one result per target per second, each target at its own phase
// within the second, as the scheduler would; 1 % are lost. Each result's SentAt is
// the moment it is submitted, where the clients' publish → receive latency starts.
func publish(ctx context.Context, submit func(ping.Result), targets []ping.Result) {
	const slots = 100
	bySlot := make([][]ping.Result, slots)
	for i, t := range targets {
		s := int(ping.Phase(t.TargetID, time.Second) / (time.Second / slots))
		bySlot[s] = append(bySlot[s], targets[i])
	}
	tick := time.NewTicker(time.Second / slots)
	defer tick.Stop()
	slot := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		for _, r := range bySlot[slot] {
			r.SentAt = now
			if rand.IntN(100) == 0 {
				r.Err = ping.ErrTimeout
			} else {
				r.OK, r.RTT = true, time.Duration(1000+rand.IntN(20000))*time.Microsecond
			}
			submit(r)
		}
		slot = (slot + 1) % slots
	}
}

// gather sums each metric family's samples; histograms also per label value.
func gather(reg *prometheus.Registry) map[string]float64 {
	out := map[string]float64{}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				out[mf.GetName()] += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[mf.GetName()] += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				// Summed over all series, and per value of each label: name{label="value"}.
				names := []string{mf.GetName()}
				for _, l := range m.GetLabel() {
					names = append(names, fmt.Sprintf("%s{%s=%q}", mf.GetName(), l.GetName(), l.GetValue()))
				}
				for _, name := range names {
					for _, b := range m.GetHistogram().GetBucket() {
						out[fmt.Sprintf("%s_bucket %g", name, b.GetUpperBound())] += float64(b.GetCumulativeCount())
					}
					out[name+"_count"] += float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	return out
}

// histQuantile is the upper bound of the bucket of histogram name holding quantile
// q of the samples between two gathers, in ms (+Inf past the last bucket).
func histQuantile(before, after map[string]float64, name string, q float64) float64 {
	total := after[name+"_count"] - before[name+"_count"]
	var bounds []float64
	prefix := name + "_bucket "
	for k := range after {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			var b float64
			fmt.Sscanf(rest, "%g", &b)
			bounds = append(bounds, b)
		}
	}
	slices.Sort(bounds)
	for _, b := range bounds {
		k := fmt.Sprintf("%s%g", prefix, b)
		if after[k]-before[k] >= q*total {
			return b * 1000
		}
	}
	return math.Inf(1)
}

// cpuTime is this process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssMB is this process's resident set, from /proc/self/status.
func rssMB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(rest), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

// heapMB is the Go heap and stack memory in use.
func heapMB() (heap, stack float64) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20), float64(m.StackInuse) / (1 << 20)
}

// raiseFileLimit lifts the open-files soft limit to the hard limit: thousands of
// sockets on each side.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// startCPUProfile writes a CPU profile to the file named by the environment variable
// env, if set, until the returned function is called.
func startCPUProfile(env string) func() {
	return startRecording(env, pprof.StartCPUProfile, pprof.StopCPUProfile)
}

// startTrace writes an execution trace (go tool trace) to the file named by the
// environment variable env, if set, until the returned function is called.
func startTrace(env string) func() { return startRecording(env, trace.Start, trace.Stop) }

// startRecording runs start on the file named by the environment variable env, if set,
// and returns what stops the recording and closes the file.
func startRecording(env string, start func(io.Writer) error, stop func()) func() {
	p := os.Getenv(env)
	if p == "" {
		return func() {}
	}
	f, err := os.Create(p)
	if err != nil {
		return func() {}
	}
	if start(f) != nil {
		f.Close()
		return func() {}
	}
	return func() { stop(); f.Close() }
}

// writeHeapProfile writes a heap profile to path, unless path is empty or ".base" (the
// variable is not set).
func writeHeapProfile(path string) {
	if path == "" || path == ".base" {
		return
	}
	if f, err := os.Create(path); err == nil {
		_ = pprof.WriteHeapProfile(f)
		f.Close()
	}
}
