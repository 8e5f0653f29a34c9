package shared

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"pingdeck/internal/ping"
	"runtime"
	"sync"
	"time"
)

// Options configure the shared-socket engine.
type Options struct {
	// Mode is how to get ICMP sockets. ModeAuto takes unprivileged datagram sockets
	// when net.ipv4.ping_group_range allows this process's group, else raw sockets.
	Mode    ping.Mode
	Metrics *ping.Metrics // may be nil
	Logger  *slog.Logger  // may be nil
	// ID is the ICMP identifier of echo requests in raw mode (0: random). Datagram
	// sockets get theirs from the kernel.
	ID uint16
}

// Engine is the engine that scales (Linux only): one ICMP socket per address family
// carries every target's probes, and one goroutine does all the work in ticks of about
// a millisecond: it reads every reply waiting (in batches), then expires the deadlines
// and sends the probes that have come due, then sleeps. Replies are matched by source
// address, sequence and payload, and RTTs come from kernel receive timestamps, so
// reading a reply a little later than it came changes nothing. It does not allocate
// per probe, and it wakes about once a tick however many targets it probes.
type Engine struct {
	mode ping.Mode
	log  *slog.Logger
	core *sharedCore
	// open opens the socket of one address family in the engine's mode.
	open func(v6 bool) (sharedConn, error)

	mu      sync.Mutex
	running bool
	conns   [2]sharedConn // opened by New for the first Run; nil once taken
	connErr [2]error
}

var _ ping.Engine = (*Engine)(nil)

// sharedTick is the engine's pacing: it wakes at most this often. Sends are up to a
// tick late against their phase (the send lag metric shows by how much); RTTs are
// unaffected.
const sharedTick = time.Millisecond

// sharedReadEvery is how often the engine wakes, at least, to read replies while
// probes are in flight and nothing else is due. The replies' RTTs come from kernel
// timestamps and every deadline reads the sockets first, so reading later changes
// no result, only when it is reported: a few milliseconds, where the live view
// batches for hundreds. Waking every tick instead cost a thousand wake-ups a second
// for a single target waiting on a far host. It stays under the 10 ms after which
// the Go scheduler hands a P in a system call to another thread (see
// sharedYieldEvery).
const sharedReadEvery = 8 * time.Millisecond

func newShared(opts Options, mode ping.Mode, id uint16, open func(v6 bool) (sharedConn, error)) *Engine {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	core := newSharedCore(time.Now, rand.Uint32(), id, mode == ping.ModePrivileged, opts.Metrics)
	return &Engine{mode: mode, log: log, core: core, open: open}
}

// Name implements Engine.
func (s *Engine) Name() string { return "shared" }

// Mode is the ICMP mode the engine obtained: ModeUnprivileged or ModePrivileged.
func (s *Engine) Mode() ping.Mode { return s.mode }

// Update implements Engine. It is safe to call while Run runs.
func (s *Engine) Update(targets []ping.Target) { s.core.update(targets) }

// Run implements Engine. It returns once ctx ends, with its sockets closed and its
// goroutines stopped; probes still in flight then are not reported.
func (s *Engine) Run(ctx context.Context, emit func(ping.Result)) error {
	conns, connErr, err := s.acquire()
	if err != nil {
		return err
	}
	defer s.release()

	s.core.start(conns, connErr, emit)
	s.loop(ctx, conns)
	for _, c := range conns {
		if c != nil {
			if err := c.close(); err != nil {
				s.log.Warn("ping: shared: close socket", "err", err)
			}
		}
	}
	s.core.stop()
	st := &s.core.stats
	s.log.Debug("ping: shared: stopped", "sent", st.Sent.Load(), "received", st.Received.Load(),
		"lost", st.Lost.Load(), "send_errors", st.SendErrors.Load(), "late", st.Late.Load(),
		"duplicate", st.Duplicate.Load(), "foreign", st.Foreign.Load(), "abandoned", st.Abandoned.Load())
	return nil
}

// acquire takes the sockets New opened, or opens new ones for a later Run.
func (s *Engine) acquire() ([2]sharedConn, [2]error, error) {
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

func (s *Engine) release() {
	s.mu.Lock()
	s.running = false
	s.mu.Unlock()
}

// loop runs the engine's ticks until ctx ends: read what arrived, then expire and
// send what is due (in steps of at most sharedMaxSendsPerRun, reading in between),
// then sleep until the next event, at least a tick, and while probes are in flight
// at most sharedReadEvery.
func (s *Engine) loop(ctx context.Context, conns [2]sharedConn) {
	sl, err := newSharedSleeper()
	if err != nil {
		s.log.Warn("ping: shared: pacing with runtime timers instead", "err", err)
		sl = newSharedTimerSleeper()
	}
	wake := sl.wake
	s.core.wakeHook.Store(&wake)
	stopAfter := context.AfterFunc(ctx, sl.wake)
	defer func() {
		stopAfter()
		s.core.wakeHook.Store(nil)
		if err := sl.close(); err != nil {
			s.log.Warn("ping: shared: close sleeper", "err", err)
		}
	}()
	r := sharedReader{log: s.log}
	lastYield := time.Now()
	for ctx.Err() == nil {
		// The time is read before the sockets: every reply that came before a
		// deadline this tick expires is read first, so none is taken for lost.
		now := time.Now()
		inFlight, maxMsg := s.core.readState()
		for fam, c := range conns {
			if c != nil && inFlight[fam] {
				r.drain(s.core, c, maxMsg, now)
			}
		}
		next, ok := s.core.runDue(now)
		if ok && !next.After(now) {
			continue // more is due already: read, then go on
		}
		longest := time.Minute
		if inFlight, _ := s.core.readState(); inFlight != [2]bool{} {
			longest = sharedReadEvery
		}
		sleep := longest
		if ok {
			sleep = min(max(next.Sub(now), sharedTick), longest)
		}
		if now.Sub(lastYield) >= sharedYieldEvery {
			runtime.Gosched()
			lastYield = now
		}
		sl.sleep(time.Until(now.Add(sleep)))
	}
}

// sharedYieldEvery is how often the loop yields to the Go scheduler. The loop never
// blocks in the runtime, so the scheduler sees one goroutine running without a break;
// after 10 ms of that it takes the goroutine for a hog and, finding it in a system
// call (the tick's sleep), hands its P to another thread, after every tick from then
// on: a thread woken, a P handed over and back, and the runtime's monitor thread
// woken to watch, on each of a thousand ticks a second (this was a third of the
// engine's CPU at 1,000 targets). Yielding well inside those 10 ms keeps the P
// with the loop for the price of one yield every few ticks.
const sharedYieldEvery = 4 * time.Millisecond

// sharedSleeper is how the engine's goroutine waits between ticks.
type sharedSleeper interface {
	sleep(d time.Duration) // returns after d, or sooner once wake is called
	wake()                 // from any goroutine, even after close
	close() error
}

// sharedTimerSleeper waits on a runtime timer: the portable sleeper.
type sharedTimerSleeper struct {
	timer *time.Timer
	ch    chan struct{} // one pending wake-up; more are merged into it
}

func newSharedTimerSleeper() *sharedTimerSleeper {
	return &sharedTimerSleeper{timer: time.NewTimer(time.Hour), ch: make(chan struct{}, 1)}
}

func (s *sharedTimerSleeper) sleep(d time.Duration) {
	s.timer.Reset(d)
	select {
	case <-s.timer.C:
	case <-s.ch:
	}
}

func (s *sharedTimerSleeper) wake() {
	select {
	case s.ch <- struct{}{}:
	default:
	}
}

func (s *sharedTimerSleeper) close() error { s.timer.Stop(); return nil }

// sharedReader reads batches of replies and hands them to the matcher.
type sharedReader struct {
	log     *slog.Logger
	batch   [sharedBatch]sharedPacket
	errAt   time.Time // when a receive error was last logged
	errSeen uint64    // receive errors since
}

// drain reads every message waiting on c (a bounded number of batches per tick, so a
// flood cannot stall the sends).
func (r *sharedReader) drain(core *sharedCore, c sharedConn, maxMsg int, now time.Time) {
	for range 64 {
		n, err := c.readBatch(r.batch[:], maxMsg)
		if err != nil {
			r.failed(err, now)
			return
		}
		for i := range n {
			core.receive(&r.batch[i])
		}
		if n < len(r.batch) {
			return
		}
	}
}

// failed logs a receive error, at most once a second with the count since.
func (r *sharedReader) failed(err error, now time.Time) {
	r.errSeen++
	if now.Sub(r.errAt) < time.Second {
		return
	}
	r.log.Warn("ping: shared: receive", "err", err, "errors", r.errSeen)
	r.errAt, r.errSeen = now, 0
}
