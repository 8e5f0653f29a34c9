package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"pingdeck/internal/auth"
	"pingdeck/internal/bus"
	"pingdeck/internal/cluster"
	"pingdeck/internal/live"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// Tasks that run on one replica at a time, each under its lease.
const (
	taskHousekeeping = "housekeeping"
	taskAlertRules   = "alert-rules"
	// taskWriter: one replica at a time stores results from the shared consumer, so
	// each source's batches reach one writer in order (its gap count and the open
	// blocks of a target are that writer's alone).
	taskWriter = "writer"
)

// openLeases joins the split of work among replicas when this server may be one of
// several (config.clustered); nil otherwise: a server alone does everything. changed
// is told when the shards held change (the scheduler re-reads what to probe). A
// server that must be alone (on SQLite) refuses to start when other replicas are live
// on the bus.
func openLeases(ctx context.Context, cfg *config, b *bus.Bus, alone bool, probes bool, changed func(), log *slog.Logger) (*cluster.Leases, error) {
	if !cfg.clustered() {
		return nil, nil
	}
	setup, cancel := context.WithTimeout(context.WithoutCancel(ctx), setupTimeout(cfg))
	defer cancel()
	var l *cluster.Leases
	err := b.RetryTransient(setup, "the lease bucket", func(ctx context.Context) (err error) {
		l, err = cluster.Open(ctx, b.JetStream(), cluster.Options{Node: cfg.NodeName, Replicas: b.Replicas(),
			Tasks: []string{taskWriter, taskHousekeeping, taskAlertRules}, TasksOnly: !probes, Changed: changed,
			Majority: b.ReachesMajority, Logger: log})
		return err
	})
	if err != nil {
		return nil, err
	}
	if alone {
		others, err := l.OthersLive(setup)
		if err != nil {
			return nil, err
		}
		if len(others) > 0 {
			return nil, fmt.Errorf("--db (PINGDECK_DB): SQLite is one machine's database, and other replicas (%s) use this bus (--nats-url): give every replica the same --db postgres://…", strings.Join(others, ", "))
		}
	}
	log.Info("cluster: this replica takes its share of the local targets by leases", "node", cfg.NodeName, "probes", probes)
	return l, nil
}

// openBudgets returns the sign-in budgets replicas share (on the bus), or nil (auth's
// default, in memory) for a server alone.
func openBudgets(ctx context.Context, cfg *config, b *bus.Bus, log *slog.Logger) (auth.AttemptBudgets, error) {
	if !cfg.clustered() {
		return nil, nil
	}
	setup, cancel := context.WithTimeout(context.WithoutCancel(ctx), setupTimeout(cfg))
	defer cancel()
	var budgets *cluster.Budgets
	err := b.RetryTransient(setup, "the sign-in budgets", func(ctx context.Context) (err error) {
		budgets, err = cluster.OpenBudgets(ctx, b.JetStream(), b.Replicas(), auth.DefaultLoginBurst, auth.DefaultLoginRefill, log)
		return err
	})
	if err != nil {
		return nil, err
	}
	return budgets, nil
}

// openStreams returns the count of users' live streams replicas share, or nil for a
// server alone (the hub counts its own).
func openStreams(ctx context.Context, cfg *config, b *bus.Bus, leases *cluster.Leases, log *slog.Logger) (*cluster.Streams, error) {
	if leases == nil {
		return nil, nil
	}
	setup, cancel := context.WithTimeout(context.WithoutCancel(ctx), setupTimeout(cfg))
	defer cancel()
	var streams *cluster.Streams
	err := b.RetryTransient(setup, "the live-stream counts", func(ctx context.Context) (err error) {
		streams, err = cluster.OpenStreams(ctx, b.JetStream(), leases, b.Replicas(), log)
		return err
	})
	return streams, err
}

// streamCounter is streams as the hub takes it: none for a server alone.
func streamCounter(streams *cluster.Streams) live.StreamCounter {
	if streams == nil {
		return nil
	}
	return streams
}

// shareSecret is the secret called name as the replicas share it (the first replica's,
// kept on the bus); a server alone keeps its own (mine). The device-cookie key is one,
// so that a device cookie set by one replica is believed by all.
func shareSecret(ctx context.Context, cfg *config, b *bus.Bus, name string, mine []byte) ([]byte, error) {
	if !cfg.clustered() {
		return mine, nil
	}
	setup, cancel := context.WithTimeout(context.WithoutCancel(ctx), setupTimeout(cfg))
	defer cancel()
	var key []byte
	err := b.RetryTransient(setup, "the shared "+name, func(ctx context.Context) (err error) {
		key, err = cluster.SharedSecret(ctx, b.JetStream(), b.Replicas(), name, mine)
		return err
	})
	return key, err
}

// resumeToken is the live stream's resume token in a cluster: one for every replica,
// so that a browser resumes on whichever its reconnection reaches. A server alone
// has none here (the hub draws a fresh one each start).
func resumeToken(ctx context.Context, cfg *config, b *bus.Bus) (string, error) {
	if !cfg.clustered() {
		return "", nil
	}
	mine := make([]byte, 12)
	_, _ = rand.Read(mine)
	tok, err := shareSecret(ctx, cfg, b, "live-resume-token", mine)
	return hex.EncodeToString(tok), err
}

// holds is whether this server runs task now: always when alone.
func holds(l *cluster.Leases, task string) func() bool {
	if l == nil {
		return func() bool { return true }
	}
	return func() bool { return l.Holds(task) }
}

// ownedSource is the scheduler's source narrowed to the targets of the shards this
// replica holds.
type ownedSource struct {
	ping.Source
	owns func(targetID string) bool
}

var _ ping.Source = ownedSource{}

func (s ownedSource) ActiveTargets(ctx context.Context) ([]ping.Desired, error) {
	ds, err := s.Source.ActiveTargets(ctx)
	return s.keep(ds), err
}

func (s ownedSource) ActiveTargetsOfGroup(ctx context.Context, groupID string) ([]ping.Desired, error) {
	ds, err := s.Source.ActiveTargetsOfGroup(ctx, groupID)
	return s.keep(ds), err
}

func (s ownedSource) SetTargetIP(ctx context.Context, targetID string, ip netip.Addr) error {
	return s.Source.SetTargetIP(ctx, targetID, ip)
}

func (s ownedSource) keep(ds []ping.Desired) []ping.Desired {
	out := ds[:0]
	for _, d := range ds {
		if s.owns(d.ID) {
			out = append(out, d)
		}
	}
	return out
}

// writeWhileHeld runs the result writer: always for a server alone; in a cluster on
// the replica holding the writer's lease, which first has the batches a writer that
// died held unacked delivered again (they would wait out the ack wait otherwise).
func writeWhileHeld(ctx context.Context, b *bus.Bus, st *store.Store, leases *cluster.Leases, run func(context.Context), log *slog.Logger) {
	if leases == nil {
		run(ctx)
		return
	}
	runWhileHeld(ctx, holds(leases, taskWriter), func(ctx context.Context) {
		op, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := b.RetryTransient(op, "the writers' consumer anew", b.ReclaimWriterBatches)
		cancel()
		if err != nil && ctx.Err() == nil {
			log.Warn("cluster: could not reclaim the batches an earlier writer held; they come back after the ack wait", "err", err)
		}
		// The other replicas' reads ask the writer for the results it holds.
		if stop, err := b.AnswerHeld(heldAnswer(st)); err == nil {
			defer stop()
		} else {
			log.Warn("cluster: cannot answer for held results; other replicas' reports miss them until stored", "err", err)
		}
		log.Info("cluster: this replica stores the results now (writer lease)")
		run(ctx)
	})
}

// runWhileHeld runs f while here reports true, until ctx ends: started when it turns
// true, stopped (its context cancelled, waited for) when it turns false. here is
// looked at every heldCheck.
func runWhileHeld(ctx context.Context, here func() bool, f func(ctx context.Context)) {
	t := time.NewTicker(heldCheck)
	defer t.Stop()
	var stop context.CancelFunc
	var done chan struct{}
	for {
		switch held := here(); {
		case held && stop == nil:
			var runCtx context.Context
			runCtx, stop = context.WithCancel(ctx)
			done = make(chan struct{})
			go func() { defer close(done); f(runCtx) }()
		case !held && stop != nil:
			stop()
			<-done
			stop = nil
		}
		select {
		case <-ctx.Done():
			if stop != nil {
				stop()
				<-done
			}
			return
		case <-t.C:
		}
	}
}

// heldCheck is how often runWhileHeld looks at its lease.
const heldCheck = 250 * time.Millisecond

// heldAnswer is the store's held results as the bus carries them.
func heldAnswer(st *store.Store) func(bus.HeldRequest) []bus.HeldBlock {
	return func(req bus.HeldRequest) []bus.HeldBlock {
		var locations []string
		if len(req.Locations) > 0 {
			locations = req.Locations
		}
		blocks := st.Held(store.HeldQuery{Targets: req.Targets, Locations: locations, FromUs: req.FromUs, ToUs: req.ToUs})
		out := make([]bus.HeldBlock, len(blocks))
		for i, h := range blocks {
			out[i] = bus.HeldBlock{Target: h.Target, Location: h.Location, StartUs: h.Start, Data: h.Data}
		}
		return out
	}
}

// askHeld is the store's question to the cluster's writer, over the bus.
func askHeld(b *bus.Bus) func(ctx context.Context, q store.HeldQuery) ([]store.HeldBlock, error) {
	return func(ctx context.Context, q store.HeldQuery) ([]store.HeldBlock, error) {
		blocks, err := b.AskHeld(ctx, bus.HeldRequest{Targets: q.Targets, Locations: q.Locations, FromUs: q.FromUs, ToUs: q.ToUs})
		if err != nil {
			return nil, err
		}
		out := make([]store.HeldBlock, len(blocks))
		for i, h := range blocks {
			out[i] = store.HeldBlock{Target: h.Target, Location: h.Location, Start: h.StartUs, Data: h.Data}
		}
		return out, nil
	}
}
