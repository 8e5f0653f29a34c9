//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"pingdeck/bench/internal/instance"
	"pingdeck/bench/internal/procfs"
	"pingdeck/bench/internal/storedonce"
	"pingdeck/internal/store/storetest"
)

// The server's metrics the benchmark reads.
const (
	metricWritten    = "pingdeck_results_written_total"
	metricStreamMsgs = "pingdeck_bus_stream_messages"
	metricDropped    = "pingdeck_results_dropped_total"
)

const (
	adminPassword = "agentbench-password"
	busUser       = "agentbench"
	busPassword   = "agentbench-bus-password"
	// readyTimeout bounds the wait for the server's /readyz after it listens.
	readyTimeout = time.Minute
	// verifyTimeout bounds the checks' queries together.
	verifyTimeout = 10 * time.Minute
)

// results is everything the report shows; a phase not reached is nil.
type results struct {
	Engine  *engineRun
	Single  *phase // one agent
	All     *phase // -agents agents (nil when that is one)
	Dropped map[string]float64
	Notes   []string
	Failure string
}

// bench is one run's server, its cluster and the client that drives it.
type bench struct {
	o          options
	c          *instance.Client
	srv        *instance.Process
	postmaster int // 0: unknown, no Postgres CPU
	logf       func(string, ...any)
}

// measure runs the phases: a cluster, the server, the sites; the engine alone; one
// agent; all agents; then the drain and the checks. Everything it started is stopped
// and removed before it returns, in reverse order of start.
func measure(ctx context.Context, o options, self string, logf func(string, ...any)) (res results, err error) {
	dir, err := os.MkdirTemp("", "agentbench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	logf("starting a throwaway PostgreSQL cluster")
	dbURL, stopDB, err := storetest.Throwaway(ctx)
	if err != nil {
		return res, err
	}
	defer func() {
		if err := stopDB(); err != nil {
			logf("stopping the cluster: %v", err)
		}
	}()
	srv, addr, err := instance.StartServer(ctx, instance.ServerSpec{
		Bin: o.bin, Dir: dir, DBURL: dbURL, AdminPassword: adminPassword,
		Targets: o.n * o.agents, Groups: o.agents * ((o.n + o.perGroup - 1) / o.perGroup),
		Args: []string{"--nats-listen", "127.0.0.1:0", "--nats-user", busUser, "--nats-password", busPassword},
	})
	if err != nil {
		return res, err
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("server exit: %v", err))
		}
	}()
	b := &bench{o: o, c: instance.NewClient(addr), srv: srv, logf: logf}
	if err := b.c.WaitReady(ctx, srv, readyTimeout); err != nil {
		return res, err
	}
	if err := b.c.Login(ctx, adminPassword); err != nil {
		return res, err
	}
	busAddr, ok := srv.FindInLog(func(line string) (string, bool) {
		return instance.LogField(line, "bus: embedded NATS listening for agents and replicas", "addr")
	})
	if !ok {
		return res, fmt.Errorf("the server did not log where its bus listens; its log:\n%s", srv.LogTail(20))
	}
	if b.postmaster, err = procfs.PostmasterPID(dbURL); err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("no Postgres CPU: %v", err))
	}
	logf("server (pid %d) on %s, its bus on %s", srv.PID(), addr, busAddr)
	sites, err := b.makeSites(ctx, dir)
	if err != nil {
		return res, err
	}

	logf("the engine alone on %s's %d targets: %s warm-up, %s measured", sites[0].location, o.n, o.warmup, o.window)
	engine, err := runEngineAlone(ctx, self, dir, sites[0].targets, o)
	if err != nil {
		return res, err
	}
	res.Engine = &engine

	defer func() {
		for i := len(sites) - 1; i >= 0; i-- {
			if a := sites[i].agent; a != nil {
				if err := a.Stop(); err != nil {
					res.Notes = append(res.Notes, fmt.Sprintf("agent %s exit: %v", sites[i].location, err))
				}
			}
		}
	}()
	if res.Single, err = b.probeFrom(ctx, dir, "nats://"+busAddr, sites[:1]); err != nil {
		return res, err
	}
	if o.agents > 1 {
		if res.All, err = b.probeFrom(ctx, dir, "nats://"+busAddr, sites); err != nil {
			return res, err
		}
	}

	caughtUp, err := b.drain(ctx, sites, &res)
	if err != nil {
		return res, err
	}
	if !caughtUp {
		res.Notes = append(res.Notes, fmt.Sprintf("results still arriving %s after the pause", o.drain))
	}
	// The server holds the open blocks' results until they close; stopping stores them.
	logf("stopping the server (it stores what it holds), then checking the database")
	if err := b.srv.Stop(); err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("server stop: %v", err))
	}
	return res, verify(ctx, dbURL, sites, res.Single, res.All)
}

// makeSites enrols the agents and makes each site's groups: its own range of
// addresses, probed from its location only (so the server probes none of them).
func (b *bench) makeSites(ctx context.Context, dir string) ([]*site, error) {
	start := time.Now()
	sites := make([]*site, b.o.agents)
	for i := range sites {
		s := &site{location: siteName(i)}
		var err error
		if s.credFile, err = enrol(ctx, b.c, dir, s.location); err != nil {
			return nil, err
		}
		s.groups, err = b.c.CreateLoopbackGroups(ctx, instance.LoopbackGroups{Name: "bench " + s.location,
			First: i * b.o.n, N: b.o.n, PerGroup: b.o.perGroup, Interval: b.o.interval, Locations: []string{s.location}})
		if err != nil {
			return nil, err
		}
		s.targets = instance.TargetsOf(s.groups)
		sites[i] = s
	}
	b.logf("enrolled %d agents and made %d targets each in %s", len(sites), b.o.n, time.Since(start).Round(time.Millisecond))
	return sites, nil
}

// probeFrom starts the agents of sites not yet running, waits until each probes all
// its site's targets and out the warm-up, then measures a window.
func (b *bench) probeFrom(ctx context.Context, dir, busURL string, sites []*site) (*phase, error) {
	for _, s := range sites {
		if s.agent == nil {
			if err := s.startAgent(ctx, b.o.bin, dir, busURL, b.o); err != nil {
				return nil, err
			}
		}
	}
	if err := waitAssigned(ctx, b.c, b.srv, sites); err != nil {
		return nil, err
	}
	b.logf("%d agent(s) × %d targets: warming up for %s", len(sites), b.o.n, b.o.warmup)
	if err := b.srv.Sleep(ctx, b.o.warmup); err != nil {
		return nil, err
	}
	start, err := b.snapshot(ctx, sites)
	if err != nil {
		return nil, err
	}
	b.logf("measuring for %s", b.o.window)
	if err := b.srv.Sleep(ctx, b.o.window); err != nil {
		return nil, err
	}
	end, err := b.snapshot(ctx, sites)
	if err != nil {
		return nil, err
	}
	return phaseBetween(start, end, sites, b.o.interval), nil
}

// snapshot reads the server's, the cluster's and the agents' CPU and memory, the
// server's metrics and what waits on the agents' disks.
func (b *bench) snapshot(ctx context.Context, sites []*site) (snapshot, error) {
	s := snapshot{at: time.Now()}
	var err error
	if s.server, err = readProc(b.srv.PID()); err != nil {
		return s, fmt.Errorf("server: %w", err)
	}
	for _, site := range sites {
		r, err := readProc(site.agent.PID())
		if err != nil {
			return s, fmt.Errorf("agent %s: %w; its log ends:\n%s", site.location, err, site.agent.LogTail(20))
		}
		s.agents = append(s.agents, r)
	}
	if b.postmaster > 0 {
		if cpu, err := procfs.ClusterCPU(b.postmaster); err == nil {
			s.pgCPU, s.havePG = cpu, true
		}
	}
	if s.scrape, err = b.c.Scrape(ctx); err != nil {
		return s, err
	}
	views, err := agentViews(ctx, b.c)
	s.buffered = bufferedBytes(views, sites)
	return s, err
}

// quiet is how long the written counter must stand still, with nothing waiting on the
// bus or the agents' disks, before every result counts as stored.
const quiet = 3 * time.Second

// drain pauses every group, then waits until nothing waits on the server's bus or the
// agents' disks and the writer has stood still for quiet (true), or o.drain passes.
func (b *bench) drain(ctx context.Context, sites []*site, res *results) (bool, error) {
	for _, s := range sites {
		for _, g := range s.groups {
			if err := b.c.PauseGroup(ctx, g.ID); err != nil {
				return false, err
			}
		}
	}
	b.logf("groups paused; waiting (up to %s) for every result to be stored", b.o.drain)
	deadline := time.Now().Add(b.o.drain)
	last, still := -1.0, time.Now()
	for {
		m, err := b.c.Scrape(ctx)
		if err != nil {
			return false, err
		}
		views, err := agentViews(ctx, b.c)
		if err != nil {
			return false, err
		}
		res.Dropped = m.ByLabel(metricDropped, "reason")
		if w := m.Sum(metricWritten); w != last {
			last, still = w, time.Now()
		}
		if !(m.Sum(metricStreamMsgs) > 0) && bufferedBytes(views, sites) == 0 && time.Since(still) >= quiet {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		if err := b.srv.Sleep(ctx, 500*time.Millisecond); err != nil {
			return false, err
		}
	}
}

// verify counts, for each phase measured, each of its sites' targets' rows in the
// phase's window.
func verify(ctx context.Context, dbURL string, sites []*site, phases ...*phase) error {
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("verify: connect: %w", err)
	}
	defer conn.Close(context.Background())
	for _, ph := range phases {
		if ph == nil {
			continue
		}
		for i := range ph.Agents {
			t, err := storedonce.Check(ctx, conn, sites[i].targets, ph.Counts)
			if err != nil {
				return err
			}
			ph.Agents[i].Stored, ph.Agents[i].Checked = t, true
		}
	}
	return nil
}
