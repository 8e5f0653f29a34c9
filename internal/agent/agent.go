// Package agent is `pingdeck agent`: a prober at another site (DESIGN §9). It connects
// outbound to a server's bus with its own credential, asks what its location probes,
// probes it with the same engines as the server, and publishes the results. Results
// go first to a stream on the agent's own disk (an embedded NATS server with no port)
// and are forwarded from there, so a link that fails loses nothing until the buffer's
// bound; past it the oldest are dropped, and the server counts them.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"pingdeck/internal/bus"
	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
)

// Options configure an agent.
type Options struct {
	// Server is the server's bus URL (nats://host:4222 or tls://…; comma-separated
	// for several).
	Server     string
	Credential bus.AgentCredential
	// DataDir holds the disk buffer (<data-dir>/buffer).
	DataDir string
	// BufferMaxBytes bounds the disk buffer; past it the oldest results are dropped.
	BufferMaxBytes int64
	Engine         ping.Engine
	Resolver       *ping.Resolver
	Version        string
	Logger         *slog.Logger
}

// bufferMaxAge bounds how long results wait on the agent's disk.
const bufferMaxAge = 30 * 24 * time.Hour

// How the agent batches results for its buffer.
const (
	agentFlushEvery = 200 * time.Millisecond
	agentMaxBatch   = 2000
)

// assignmentsResyncEvery is how often the agent re-reads all it probes.
const assignmentsResyncEvery = time.Minute

// statusEvery is how often the agent says how it is.
const statusEvery = time.Second

// Run runs the agent until ctx ends; it returns early only when it cannot work at all
// (its buffer cannot open, the server speaks another protocol).
func Run(ctx context.Context, o Options) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	log := o.Logger.With("location", o.Credential.Location)
	local, err := bus.Open(bus.Config{StoreDir: filepath.Join(o.DataDir, "buffer"), Name: "pingdeck-agent-buffer", Logger: log})
	if err != nil {
		return fmt.Errorf("disk buffer under --data-dir %s: %w", o.DataDir, err)
	}
	defer local.Close()
	setup, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	buffer, pending, err := local.OpenResults(setup, bus.StreamLimits{MaxBytes: o.BufferMaxBytes, MaxAge: bufferMaxAge, ConsumerInMemory: true})
	if err != nil {
		return fmt.Errorf("disk buffer: %w", err)
	}
	// Batches of up to 200 ms (the design's bound) rather than the server's 25 ms: the
	// buffer's store and the forwarder pay per message, and the agent's results are
	// late by the link's delay anyway.
	publisher, err := local.NewResultPublisher(bus.PublisherOptions{Location: o.Credential.Location, Logger: log,
		FlushEvery: agentFlushEvery, MaxBatch: agentMaxBatch})
	if err != nil {
		return err
	}

	a := &agent{o: o, log: log, buffer: buffer, fatal: make(chan error, 1)}
	var probes atomic.Uint64
	a.probes = &probes
	nc, err := a.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	a.source = newAssignments(nc, o.Credential.Location)
	a.scheduler = ping.NewScheduler(a.source, o.Engine, o.Resolver, log, func(r ping.Result) {
		probes.Add(1)
		publisher.Submit(r)
	})
	// Changes come as notices, and everything is read again after a reconnection: the
	// periodic re-read only backs them up.
	a.scheduler.SetResyncEvery(assignmentsResyncEvery)
	changes, err := nc.Subscribe(bus.AssignmentChangedSubject(o.Credential.Location), a.onChange)
	if err != nil {
		return fmt.Errorf("agent: subscribing to assignment changes: %w", err)
	}
	defer changes.Unsubscribe()
	remote, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(forwardBatch*2))
	if err != nil {
		return fmt.Errorf("agent: JetStream: %w", err)
	}
	fwd := &forwarder{from: pending, to: remote, nc: nc, log: log}

	run, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	publishing, stopPublishing := context.WithCancel(context.Background())
	wg.Go(func() { publisher.Run(publishing) })
	wg.Go(func() { fwd.run(run) })
	wg.Go(func() { a.report(run, nc) })
	probing := make(chan error, 1)
	wg.Go(func() { probing <- a.scheduler.Run(run) })
	log.Info("agent running", "server", o.Server, "name", o.Credential.Name, "engine", o.Engine.Name())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-a.fatal:
	case runErr = <-probing:
		probing <- runErr
	}
	stop()
	err = <-probing
	stopPublishing() // the last probes' results go to the buffer; the next run forwards them
	wg.Wait()
	if runErr == nil && ctx.Err() == nil {
		runErr = err
	}
	return runErr
}

// agent is one run's moving parts.
type agent struct {
	o         Options
	log       *slog.Logger
	buffer    jetstream.Stream
	source    *assignments
	scheduler *ping.Scheduler
	probes    *atomic.Uint64
	fatal     chan error // the agent cannot go on

	greeted atomic.Bool // the server accepted this agent's protocol on this connection
}

// connect dials the server, retrying in the background while it cannot be reached;
// after each reconnection the agent asks for everything it probes again.
func (a *agent) connect() (*nats.Conn, error) {
	auth, err := a.o.Credential.ConnectOptions()
	if err != nil {
		return nil, err
	}
	opts := append(auth,
		nats.Name("pingdeck-agent "+a.o.Credential.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.Timeout(5*time.Second),
		nats.PingInterval(5*time.Second), nats.MaxPingsOutstanding(2),
		nats.ConnectHandler(func(*nats.Conn) { a.log.Info("agent: connected to the server", "server", a.o.Server) }),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			a.greeted.Store(false)
			if err != nil && !nc.IsClosed() {
				a.log.Warn("agent: lost the server; probing on, results wait on disk", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			a.log.Info("agent: reconnected; sending what waited on disk")
			if a.scheduler != nil {
				a.scheduler.ResyncAll()
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrPermissionViolation) {
				a.log.Error("agent: the server refused this agent's credential or a subject; was it revoked?", "err", err)
				return
			}
			a.log.Warn("agent: bus error", "err", err)
		}),
	)
	nc, err := nats.Connect(a.o.Server, opts...)
	if err != nil {
		return nil, fmt.Errorf("--server %s: %w", a.o.Server, err)
	}
	return nc, nil
}

// onChange hears that a group changed for this location and re-reads it.
func (a *agent) onChange(m *nats.Msg) {
	var c bus.AssignmentChange
	if err := json.Unmarshal(m.Data, &c); err != nil || c.Group == "" {
		a.log.Warn("agent: unreadable assignment change", "err", err)
		return
	}
	a.scheduler.HandleChange(groups.Change{Kind: groups.ChangeGroupUpdated, GroupID: c.Group})
}

// report greets the server on each connection (a server speaking another protocol is
// fatal) and says every second how the agent is: what it probes, how fast, what waits
// on its disk.
func (a *agent) report(ctx context.Context, nc *nats.Conn) {
	t := time.NewTicker(statusEvery)
	defer t.Stop()
	last, lastAt := a.probes.Load(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if nc.Status() != nats.CONNECTED {
			continue
		}
		if !a.greeted.Load() {
			if _, err := bus.Greet(nc, a.o.Credential.Name, []int{bus.ProtocolVersion}, 5*time.Second); err != nil {
				if errors.Is(err, bus.ErrRefused) {
					a.fatal <- err
					return
				}
				a.log.Warn("agent: greeting the server", "err", err)
				continue
			}
			a.greeted.Store(true)
			a.scheduler.ResyncAll()
		}
		now, n := time.Now(), a.probes.Load()
		st := bus.AgentStatus{Name: a.o.Credential.Name, Version: a.o.Version, Protocol: bus.ProtocolVersion,
			Targets: a.source.targets(), ProbesPerS: float64(n-last) / now.Sub(lastAt).Seconds()}
		last, lastAt = n, now
		if info, err := a.buffer.Info(ctx); err == nil {
			st.BufferedBatches, st.BufferedBytes = info.State.Msgs, info.State.Bytes
		}
		data, _ := json.Marshal(st)
		if err := nc.Publish(bus.AgentStatusSubject(a.o.Credential.Location), data); err != nil {
			a.log.Debug("agent: status", "err", err)
		}
	}
}
