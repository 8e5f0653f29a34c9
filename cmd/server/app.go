package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"pingdeck/frontend"
	"pingdeck/internal/alerts"
	"pingdeck/internal/api"
	"pingdeck/internal/auth"
	"pingdeck/internal/bus"
	"pingdeck/internal/cluster"
	"pingdeck/internal/groups"
	"pingdeck/internal/live"
	"pingdeck/internal/notify"
	"pingdeck/internal/ping"
	"pingdeck/internal/sites"
	"pingdeck/internal/store"
	"pingdeck/internal/targetmetrics"
)

// app is a running pingdeck: what start wired, in the order shutdown undoes it.
type app struct {
	log   *slog.Logger
	store *store.Store
	bus   *bus.Bus
	// changeSub hands the bus's change events to the hub and the scheduler.
	changeSub *bus.ChangeSubscription
	hellos    *bus.HelloResponder // tells agents and replicas which protocol to speak
	server    *http.Server
	serveErr  chan error
	hub       *live.Hub
	// Background work, stopped in this order: probing, then the live hub, then the
	// writer (a batch it fetched and did not store goes back to the stream), then
	// housekeeping, then the notification dispatcher (a send under way is recorded or,
	// unconfirmed, tried again after the next start), then the agents' registry
	// (assignments, presence), then target states.
	stopProbing, stopHub, stopWriter, stopHousekeeping, stopNotifying, stopSites, stopAlerts context.CancelFunc
	probing, hubbing, writing, housekeeping, notifying, siting, alerting                     sync.WaitGroup
	// The leases of a replica among several (nil alone), released last: the others
	// take this one's targets and tasks at once.
	stopLeases context.CancelFunc
	leasing    sync.WaitGroup
	// The per-target metrics exporter, stopped with the hub (both read live results).
	stopTargetMetrics context.CancelFunc
	targetMetering    sync.WaitGroup
}

// The store announces every committed change; the live hub and the scheduler apply them.
var (
	_ groups.Subscriber = (*live.Hub)(nil)
	_ groups.Subscriber = (*ping.Scheduler)(nil)
)

const sessionTTL = 14 * 24 * time.Hour

func start(ctx context.Context, cfg *config, stdout, stderr io.Writer) (_ *app, err error) {
	log := newLogger(stderr, cfg.LogLevel)
	// Take the port first: a taken port should fail at once, before any other work.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w (is another pingdeck running? choose another address with --listen or PINGDECK_LISTEN)", cfg.Listen, err)
	}
	defer func() {
		if err != nil {
			ln.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("--data-dir %s: %w", cfg.DataDir, err)
	}
	// The bus starts first: the store publishes each change it commits there, and the
	// bus's subscription hands what arrives (from this process or another on the same
	// NATS) to the local subscribers, hub and scheduler, through changes.
	b, err := openBus(cfg, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if cfg.clustered() {
		waiting, cancel := context.WithTimeout(context.WithoutCancel(ctx), setupTimeout(cfg))
		err = b.WaitJetStream(waiting)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	changes := &groups.Fanout{}
	changeSub, err := b.SubscribeChanges(groups.SubscriberFunc(changes.Publish))
	if err != nil {
		return nil, err
	}
	hellos, err := b.AnswerHellos()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DB, store.Options{Migrate: cfg.Migrate, Logger: log, Changes: b, OwnLocation: cfg.Location})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	deviceKey, err := auth.LoadDeviceKey(cfg.DeviceKeyFile)
	if err != nil {
		return nil, fmt.Errorf("--device-key-file (PINGDECK_DEVICE_KEY_FILE) %s: %w", cfg.DeviceKeyFile, err)
	}
	if deviceKey, err = shareSecret(ctx, cfg, b, "device-cookie-key", deviceKey); err != nil {
		return nil, err
	}
	budgets, err := openBudgets(ctx, cfg, b, log)
	if err != nil {
		return nil, err
	}
	accounts := auth.NewService(st, auth.Options{SessionTTL: sessionTTL, DeviceKey: deviceKey, Budgets: budgets})
	created, generated, err := accounts.Bootstrap(ctx, cfg.AdminPassword)
	if err != nil {
		return nil, err
	}
	if generated != "" {
		fmt.Fprintf(stdout, "pingdeck: created user %q with password %s\n  (shown only this once; sign in and keep it somewhere safe)\n", auth.AdminUsername, generated)
	} else if created {
		log.Info("created admin user with the configured password", "user", auth.AdminUsername)
	}

	// Where groups are probed from: this server's prober and the enrolled agents, who
	// connect to the bus with their own credentials.
	locations := sites.New(sites.Options{Own: cfg.Location, Store: st, Bus: b, Logger: log,
		Probed: func(location string) ping.Source { return st.ProbedFrom(location, location == cfg.Location) }})
	if err := locations.Start(ctx); err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Results: the prober publishes them on the bus; the writer stores them from the
	// result stream, acking after commit; the hub hears those of the groups it follows.
	resultMetrics := bus.NewResultMetrics(reg)
	writer, err := newResultWriter(ctx, cfg, b, st, locations.Admit, resultMetrics, reg, log)
	if err != nil {
		return nil, err
	}
	publisher, err := b.NewResultPublisher(bus.PublisherOptions{Location: cfg.Location, Metrics: resultMetrics, Logger: log})
	if err != nil {
		return nil, err
	}
	// In a cluster each replica probes the targets of the shards it holds.
	var leases *cluster.Leases
	source := ping.Source(st.ProbedFrom(cfg.Location, true))
	if cfg.clustered() {
		source = ownedSource{Source: source, owns: func(id string) bool { return leases.OwnsTarget(id) }}
	}
	prober := newProber(cfg, source, publisher, reg, log)
	leases, err = openLeases(ctx, cfg, b, st.Dialect() == store.SQLite, prober.scheduler != nil, func() {
		if prober.scheduler != nil {
			prober.scheduler.ResyncAll()
		}
	}, log)
	if err != nil {
		return nil, err
	}
	if leases != nil {
		leases.Register(reg)
		b.RegisterClusterGauges(reg)
		st.SetPeerHeld(askHeld(b)) // reads count what the writer (another replica, maybe) holds
	}
	streams, err := openStreams(ctx, cfg, b, leases, log)
	if err != nil {
		return nil, err
	}
	token, err := resumeToken(ctx, cfg, b)
	if err != nil {
		return nil, err
	}
	feed := b.NewResultFeed(liveFeedBuffer)
	hub, err := live.NewHub(live.Options{Store: st, Credentials: accounts, Registry: reg, Logger: log,
		MaxStreamsPerUser: cfg.MaxStreamsPerUser, Streams: streamCounter(streams), Feed: feed, Location: cfg.Location,
		ResumeToken: token})
	if err != nil {
		return nil, err
	}
	hub.SetLocations(locations.Locations())
	locations.Watch(hub.SetLocations)
	states := alerts.NewService(b.Conn(), st, reg, log)
	states.RecordOnlyWhen(holds(leases, taskAlertRules))
	states.WithThresholds(st) // the groups' and targets' thresholds, read every few seconds
	locations.Watch(states.LocationsChanged)
	// Per-target metrics (/metrics/targets) count the results of the groups that ask
	// for them, from a feed of their own (a full buffer drops messages, as the hub's:
	// the counters then undercount, logged as a slow consumer).
	targetMetrics := targetmetrics.New(st, b.NewResultFeed(liveFeedBuffer), log)
	changes.Subscribe(hub)
	changes.Subscribe(targetMetrics)
	changes.Subscribe(locations)
	if prober.scheduler != nil {
		changes.Subscribe(prober.scheduler)
	}
	ready := func(ctx context.Context) error {
		if err := st.Ping(ctx); err != nil {
			return fmt.Errorf("database: %w", err)
		}
		if err := b.Ready(); err != nil {
			return fmt.Errorf("bus: %w", err)
		}
		writer.Wake() // the database answers: a writer waiting out a failure retries now
		return prober.ready()
	}
	// Alert notifications: deliveries are stored before they are sent; the dispatcher
	// sends what is due (also what a previous run left pending).
	notifier := notify.NewDispatcher(st, notify.Options{Logger: log})
	states.WithRules(st, notifier) // rules fire and resolve alerts (maintenance windows honoured), told to their channels and bells
	handler, err := api.NewHandler(api.Deps{
		Store: st, Accounts: accounts, Logger: log, Registry: reg, Ready: ready, UI: frontend.Dist(),
		Limits:         groups.Limits{MinInterval: cfg.MinInterval, MaxTargetsPerUser: cfg.MaxTargetsPerUser, MaxGroupsPerUser: cfg.MaxGroupsPerUser},
		Policy:         groups.TargetPolicy{Allow: cfg.AllowTargets, Deny: cfg.DenyTargets},
		Resolver:       ping.NewResolver(groups.TargetPolicy{Allow: cfg.AllowTargets, Deny: cfg.DenyTargets}, nil),
		AllowedOrigins: cfg.AllowedOrigins, TrustedProxies: cfg.TrustedProxies, SessionTTL: sessionTTL,
		RetentionRaw: cfg.RetentionRaw, RetentionRollup: cfg.RetentionRollup,
		Live: hub, Sites: locations, AgentBus: cfg.NATS.Listen, Locations: locations,
		TargetMetrics: targetMetrics, TargetMetricsPublic: cfg.MetricsTargetsPublic,
		Channels: st, Notifier: notifier, Rules: st, Thresholds: st, Silences: st, AlertViews: st,
	})
	if err != nil {
		return nil, err
	}

	limited, err := limitConnections(ln, cfg, reg, log)
	if err != nil {
		return nil, err
	}
	a := &app{log: log, store: st, bus: b, changeSub: changeSub, hellos: hellos, hub: hub, serveErr: make(chan error, 1),
		server: &http.Server{Handler: boundRequestReads(handler, cfg.RequestReadTimeout), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}}
	if leases != nil {
		a.stopLeases = a.spawn(&a.leasing, func(ctx context.Context) {
			var wg sync.WaitGroup
			streamsCtx, stopStreams := context.WithCancel(context.WithoutCancel(ctx))
			wg.Go(func() { streams.Run(streamsCtx) })
			if err := leases.Run(ctx); err != nil {
				log.Error("cluster: leases stopped; this replica probes nothing and runs no single task", "err", err)
			}
			// The hub is stopped by now: this replica's stream counts are taken out.
			stopStreams()
			wg.Wait()
		})
	} else {
		a.stopLeases = func() {}
	}
	a.stopHousekeeping = a.spawn(&a.housekeeping, func(ctx context.Context) {
		housekeep(ctx, st, cfg.RetentionRaw, cfg.RetentionRollup, holds(leases, taskHousekeeping), log)
	})
	a.stopSites = a.spawn(&a.siting, locations.Run)
	a.stopAlerts = a.spawn(&a.alerting, states.Run)
	a.stopNotifying = a.spawn(&a.notifying, notifier.Run)
	a.stopWriter = a.spawn(&a.writing, func(ctx context.Context) { writeWhileHeld(ctx, b, st, leases, writer.Run, log) })
	a.stopHub = a.spawn(&a.hubbing, func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Go(func() { feed.Run(ctx, func(rs []ping.Result) { hub.Publish(rs...) }) })
		hub.Run(ctx)
		wg.Wait()
	})
	a.stopTargetMetrics = a.spawn(&a.targetMetering, targetMetrics.Run)
	a.stopProbing = a.spawn(&a.probing, func(ctx context.Context) { prober.run(ctx, log) })
	go func() { a.serveErr <- a.server.Serve(limited) }()
	log.Info("pingdeck listening", "addr", ln.Addr().String(), "url", "http://"+displayAddr(ln.Addr()), "db", string(st.Dialect()))
	return a, nil
}

// shutdown stops in reverse order of start: HTTP, live sockets (closed with 1001 —
// http.Server.Shutdown does not track hijacked connections), probing, the hub, result
// writer (flushing), housekeeping, the bus, database.
func (a *app) shutdown() error {
	a.log.Info("shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.server.Shutdown(ctx)
	if serveErr := <-a.serveErr; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if hubErr := a.hub.Shutdown(ctx); hubErr != nil {
		err = errors.Join(err, fmt.Errorf("closing live sockets: %w", hubErr))
	}
	for _, stage := range []struct {
		stop context.CancelFunc
		wg   *sync.WaitGroup
	}{{a.stopProbing, &a.probing}, {a.stopHub, &a.hubbing}, {a.stopTargetMetrics, &a.targetMetering}, {a.stopWriter, &a.writing}, {a.stopHousekeeping, &a.housekeeping}, {a.stopNotifying, &a.notifying}, {a.stopSites, &a.siting}, {a.stopAlerts, &a.alerting}, {a.stopLeases, &a.leasing}} {
		stage.stop()
		stage.wg.Wait()
	}
	// Nothing publishes or listens any more: the bus goes, then the database.
	err = errors.Join(err, a.changeSub.Stop(), a.hellos.Stop())
	if busErr := a.bus.Close(); busErr != nil {
		err = errors.Join(err, fmt.Errorf("closing the bus: %w", busErr))
	}
	return errors.Join(err, a.store.Close())
}

// spawn runs f in a goroutine counted by wg, and returns what stops it.
func (a *app) spawn(wg *sync.WaitGroup, f func(ctx context.Context)) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		f(ctx)
	}()
	return cancel
}

// deliveryRetention is how long sent and failed notification deliveries stay in the log.
const deliveryRetention = 30 * 24 * time.Hour

// housekeep deletes expired sessions, raw results older than --retention-raw, rollups
// older than --retention-rollup and finished notification deliveries older than
// deliveryRetention: at start and every hour until ctx ends, while here says this
// replica does it (in a cluster, the one holding the housekeeping lease; a replica
// that takes the lease over does it at once).
func housekeep(ctx context.Context, st *store.Store, retentionRaw, retentionRollup time.Duration, here func() bool, log *slog.Logger) {
	t := time.NewTicker(housekeepCheck)
	defer t.Stop()
	var last time.Time
	for {
		if now := time.Now(); here() && (last.IsZero() || now.Sub(last) >= time.Hour) {
			last = now
			housekeepOnce(ctx, st, now, retentionRaw, retentionRollup, log)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// housekeepCheck is how often housekeep looks whether it is due (and this replica's).
const housekeepCheck = 10 * time.Second

func housekeepOnce(ctx context.Context, st *store.Store, now time.Time, retentionRaw, retentionRollup time.Duration, log *slog.Logger) {
	if n, err := st.DeleteExpiredSessions(ctx, now); err != nil && ctx.Err() == nil {
		log.Warn("purge expired sessions", "err", err)
	} else if n > 0 {
		log.Info("purged expired sessions", "count", n)
	}
	if n, err := st.DropResultsBefore(ctx, now.Add(-retentionRaw)); err != nil && ctx.Err() == nil {
		log.Warn("dropping results past --retention-raw", "err", err)
	} else if n > 0 {
		log.Info("dropped results past --retention-raw", "partitions_or_rows", n)
	}
	if n, err := st.DropRollupsBefore(ctx, now.Add(-retentionRollup)); err != nil && ctx.Err() == nil {
		log.Warn("dropping rollups past --retention-rollup", "err", err)
	} else if n > 0 {
		log.Info("dropped rollups past --retention-rollup", "partitions_or_rows", n)
	}
	if n, err := st.DeleteFinishedDeliveries(ctx, now.Add(-deliveryRetention)); err != nil && ctx.Err() == nil {
		log.Warn("deleting old notification deliveries", "err", err)
	} else if n > 0 {
		log.Info("deleted old notification deliveries", "count", n)
	}
}

// displayAddr turns a wildcard listen address into one a person can open.
func displayAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	return fmt.Sprintf("localhost:%d", tcp.Port)
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
