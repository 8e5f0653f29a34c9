package ping

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// SharedOptions configure the shared-socket engine.
type SharedOptions struct {
	// Mode is how to get ICMP sockets. ModeAuto takes unprivileged datagram sockets
	// when net.ipv4.ping_group_range allows this process's group, else raw sockets.
	Mode    Mode
	Metrics *Metrics     // may be nil
	Logger  *slog.Logger // may be nil
	// ID is the ICMP identifier of echo requests in raw mode (0: random). Datagram
	// sockets get theirs from the kernel.
	ID uint16
}

// Shared is the engine that scales (Linux only): one ICMP socket per address family
// carries every target's probes, sends are paced by one scheduling goroutine at each
// target's phase, replies are matched by source address, sequence and payload, and
// RTTs come from kernel receive timestamps. It does not allocate per probe.
type Shared struct {
	mode Mode
	log  *slog.Logger
	core *sharedCore
	// open opens the socket of one address family in the engine's mode.
	open func(v6 bool) (sharedConn, error)

	mu      sync.Mutex
	running bool
	conns   [2]sharedConn // opened by NewShared for the first Run; nil once taken
	connErr [2]error
}

var _ Engine = (*Shared)(nil)

// sharedSchedulingSlack lets one wake-up send the probes due in the next moment too,
// rather than sleeping for microseconds between them.
const sharedSchedulingSlack = 200 * time.Microsecond

func newShared(opts SharedOptions, mode Mode, id uint16, open func(v6 bool) (sharedConn, error)) *Shared {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	core := newSharedCore(time.Now, rand.Uint32(), id, mode == ModePrivileged, opts.Metrics)
	return &Shared{mode: mode, log: log, core: core, open: open}
}

// Name implements Engine.
func (s *Shared) Name() string { return "shared" }

// Mode is the ICMP mode the engine obtained: ModeUnprivileged or ModePrivileged.
func (s *Shared) Mode() Mode { return s.mode }

// Update implements Engine. It is safe to call while Run runs.
func (s *Shared) Update(targets []Target) { s.core.update(targets) }

// Run implements Engine. It returns once ctx ends, with its sockets closed and its
// goroutines stopped; probes still in flight then are not reported.
func (s *Shared) Run(ctx context.Context, emit func(Result)) error {
	conns, connErr, err := s.acquire()
	if err != nil {
		return err
	}
	defer s.release()

	s.core.start(conns, connErr, emit)
	var wg sync.WaitGroup
	for _, c := range conns {
		if c != nil {
			wg.Go(func() { s.readLoop(ctx, c) })
		}
	}
	s.schedule(ctx)
	for _, c := range conns {
		if c != nil {
			if err := c.close(); err != nil {
				s.log.Warn("ping: shared: close socket", "err", err)
			}
		}
	}
	wg.Wait()
	s.core.stop()
	st := &s.core.stats
	s.log.Debug("ping: shared: stopped", "sent", st.Sent.Load(), "received", st.Received.Load(),
		"lost", st.Lost.Load(), "send_errors", st.SendErrors.Load(), "late", st.Late.Load(),
		"duplicate", st.Duplicate.Load(), "foreign", st.Foreign.Load(), "abandoned", st.Abandoned.Load())
	return nil
}

// acquire takes the sockets NewShared opened, or opens new ones for a later Run.
func (s *Shared) acquire() ([2]sharedConn, [2]error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return [2]sharedConn{}, [2]error{}, errors.New("ping: shared: Run called while already running")
	}
	conns, connErr := s.conns, s.connErr
	s.conns = [2]sharedConn{}
	if conns[0] == nil && conns[1] == nil {
		for i := range conns {
			conns[i], connErr[i] = s.open(i == 1)
		}
		if conns[0] == nil && conns[1] == nil {
			return conns, connErr, errors.Join(connErr[:]...)
		}
	}
	s.running = true
	return conns, connErr, nil
}

func (s *Shared) release() {
	s.mu.Lock()
	s.running = false
	s.mu.Unlock()
}

// schedule sends probes and expires deadlines on time until ctx ends, sleeping on
// one reused timer in between.
func (s *Shared) schedule(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := time.Minute
		if next, ok := s.core.runDue(time.Now().Add(sharedSchedulingSlack)); ok {
			wait = time.Until(next) - sharedSchedulingSlack/2
		}
		timer.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.core.wake:
		}
	}
}

// readLoop hands every message from c to the matcher until c is closed.
func (s *Shared) readLoop(ctx context.Context, c sharedConn) {
	var p sharedPacket
	for {
		err := c.readFrom(&p)
		if err == nil {
			s.core.receive(&p)
			continue
		}
		if errors.Is(err, errSharedConnClosed) || ctx.Err() != nil {
			return
		}
		s.log.Warn("ping: shared: receive", "err", err)
		select { // do not spin on an error that repeats
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
}
