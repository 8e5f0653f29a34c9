//go:build linux

// Package pingtest simulates ICMP echo targets with known delay and loss, for testing
// probe engines against real ICMP sockets.
//
// Start creates a private network namespace in which whole address ranges exist
// (AnyIP "local" routes on lo), turns the kernel's own echo replies off there, and
// answers echo requests from user space with per-address behaviour. An engine under
// test opens its sockets inside the namespace with [Sim.Run] (or runs as a child
// process under `ip netns exec`, see [Sim.Name]); raw sockets and unprivileged
// datagram ICMP sockets ("udp4"/"udp6") both work there. The namespace has no
// interface but lo and no default route, so nothing sent in it can leave the
// machine.
//
// What a prober in the namespace sees:
//   - an address in Prefix4/Prefix6 answers as its Behavior says, from that address,
//     echoing ID, sequence number and payload exactly;
//   - an address in a Blackhole range: the send fails with EINVAL, no reply;
//   - an address with no route (outside the prefixes and 127.0.0.0/8, ::1): the
//     send fails with ENETUNREACH;
//   - 127.0.0.0/8 and ::1: the send succeeds, nothing answers.
//
// Timing: a reply's delay counts from the kernel's receive timestamp of the request.
// Replies go out typically 0.05–0.15 ms after they are due, so a prober measures the
// configured delay plus that plus its own wake-up latency (on an idle 2-vCPU VM, a
// 20 ms target measured 20.06–20.2 ms median). The precision comes from polling the
// clock for the last 1.5 ms before a reply is due, which is rationed to a quarter of
// one CPU; beyond that, and under heavy CPU load, replies rely on Go timers and are
// typically 0.1–1 ms late. Replies are never early.
//
// Start needs root (network namespaces and raw sockets); without it the test is
// skipped. Everything Start creates is removed by t.Cleanup.
package pingtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Behavior is how a simulated address answers echo requests.
type Behavior struct {
	// Delay is added before replying (the simulated round-trip time).
	Delay time.Duration
	// Jitter, if set, moves each reply by a uniform random amount in
	// [-Jitter, +Jitter] (never below zero delay). The sequence is seeded by
	// Options.Seed. Jitter can reorder replies.
	Jitter time.Duration
	// Loss is the fraction of requests left unanswered, as a deterministic pattern:
	// the k-th request to the address (k = 1, 2, …, counted since the address's
	// behaviour was last set) is dropped when floor(k·Loss) > floor((k-1)·Loss).
	// Loss 0.25 drops the 4th, 8th, 12th…; 0.5 every 2nd; 1 all. Clamped to [0, 1].
	Loss float64
	// Silent addresses never answer (the same as Loss 1).
	Silent bool
}

// Options configure Start. The zero value is usable.
type Options struct {
	// Prefix4 is the IPv4 range whose addresses exist (answer per their Behavior).
	// Default 198.18.0.0/16 (benchmarking space, RFC 2544).
	Prefix4 netip.Prefix
	// Prefix6 is the IPv6 range whose addresses exist. Default fd00:198:18::/64 (a
	// unique-local range, only ever routed inside the namespace).
	Prefix6 netip.Prefix
	// Default is the behaviour of addresses not given one with Set.
	Default Behavior
	// Blackhole ranges (IPv4 or IPv6) get kernel "blackhole" routes: requests never
	// reach the responder, and the kernel fails the send with EINVAL. Where a range
	// overlaps a prefix the more specific route wins, so a sub-range of a prefix
	// can be black-holed.
	Blackhole []netip.Prefix
	// Seed seeds the jitter sequence; 0 means 1. Runs with the same seed and the
	// same request order draw the same jitter.
	Seed uint64
}

// Sim is a network namespace in which a range of addresses answers ICMP echo from
// user space, with per-address behaviour. Its methods are safe for concurrent use.
type Sim struct {
	ns    *namespace
	opts  Options
	c4    *ipv4.RawConn
	c6    *ipv6.PacketConn
	rx4   syscall.RawConn // c4's and c6's sockets, read with recvmsg
	rx6   syscall.RawConn
	sched *scheduler
	wg    sync.WaitGroup

	received, answered atomic.Uint64

	life sync.RWMutex // held shared by Run, exclusively by close
	dead bool         // under life

	mu       sync.Mutex
	dflt     Behavior
	behavior map[netip.Addr]Behavior
	seen     map[netip.Addr]uint64 // requests since the address's behaviour was set
	rng      *rand.Rand
	peers    int // peers made so far (NewPeer)
}

// Start creates the namespace, routes and responder, and registers their teardown
// with t.Cleanup. It skips the test when not running as root or when the
// environment does not permit network namespaces, and fails it on any other error
// (no iproute2, IPv6 disabled in the kernel, …).
func Start(t testing.TB, opts Options) *Sim {
	t.Helper()
	if err := opts.normalize(); err != nil {
		t.Fatalf("pingtest: %v", err)
	}
	if uid := os.Geteuid(); uid != 0 {
		t.Skipf("pingtest: needs root for network namespaces and raw ICMP sockets (euid %d)", uid)
	}
	ns, err := newNamespace()
	if err != nil {
		if errors.Is(err, errNoPermission) {
			t.Skipf("pingtest: cannot create network namespaces here: %v", err)
		}
		t.Fatalf("pingtest: %v", err)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = 1
	}
	s := &Sim{
		ns:       ns,
		opts:     opts,
		dflt:     opts.Default,
		behavior: make(map[netip.Addr]Behavior),
		seen:     make(map[netip.Addr]uint64),
		rng:      rand.New(rand.NewPCG(seed, seed)),
	}
	s.sched = newScheduler(s.send)
	t.Cleanup(func() {
		if err := s.close(); err != nil {
			t.Errorf("pingtest: teardown of %s: %v", ns.name, err)
		}
	})
	if err := s.setup(); err != nil {
		t.Fatalf("pingtest: set up %s: %v", ns.name, err)
	}
	return s
}

// normalize fills in defaults and checks the prefixes.
func (o *Options) normalize() error {
	if !o.Prefix4.IsValid() {
		o.Prefix4 = netip.MustParsePrefix("198.18.0.0/16")
	}
	if !o.Prefix6.IsValid() {
		o.Prefix6 = netip.MustParsePrefix("fd00:198:18::/64")
	}
	if !o.Prefix4.Addr().Is4() {
		return fmt.Errorf("Prefix4 %s is not IPv4", o.Prefix4)
	}
	if !o.Prefix6.Addr().Is6() || o.Prefix6.Addr().Is4In6() {
		return fmt.Errorf("Prefix6 %s is not IPv6", o.Prefix6)
	}
	o.Prefix4, o.Prefix6 = o.Prefix4.Masked(), o.Prefix6.Masked()
	bh := make([]netip.Prefix, 0, len(o.Blackhole))
	for _, p := range o.Blackhole {
		if !p.IsValid() || p.Addr().Is4In6() {
			return fmt.Errorf("bad Blackhole prefix %s", p)
		}
		bh = append(bh, p.Masked())
	}
	o.Blackhole = bh
	return nil
}

// Set gives addr a behaviour, replacing any earlier one and restarting its loss
// pattern. It takes effect for requests arriving after it returns; replies already
// scheduled are sent as planned.
func (s *Sim) Set(addr netip.Addr, b Behavior) {
	addr = addr.Unmap()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behavior[addr] = b
	delete(s.seen, addr)
}

// SetDefault changes the behaviour of every address not given one with Set.
func (s *Sim) SetDefault(b Behavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dflt = b
}

// Run calls f on a goroutine locked to an OS thread that has joined the namespace,
// and waits for it. Sockets f opens live in the namespace for good, so an engine can
// open them here and use them from any goroutine afterwards. Goroutines f starts do
// not run in the namespace. f must not call t.FailNow (it is not the test
// goroutine). Teardown waits for a Run in progress; Run after teardown fails.
func (s *Sim) Run(f func() error) error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.dead {
		return fmt.Errorf("pingtest: Run on %s after teardown", s.ns.name)
	}
	return s.ns.run(f)
}

// Name is the namespace's name, for `ip netns exec <name> …` in child processes.
func (s *Sim) Name() string { return s.ns.name }

// Prefix4 is the IPv4 range of simulated addresses.
func (s *Sim) Prefix4() netip.Prefix { return s.opts.Prefix4 }

// Prefix6 is the IPv6 range of simulated addresses.
func (s *Sim) Prefix6() netip.Prefix { return s.opts.Prefix6 }

// Stats counts echo requests to simulated addresses that reached the responder, and
// the replies sent (a reply still waiting out its delay is not counted yet).
func (s *Sim) Stats() (received, answered uint64) {
	return s.received.Load(), s.answered.Load()
}

// decide applies the behaviour of addr to one more request: whether to answer, and
// after what delay.
func (s *Sim) decide(addr netip.Addr) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.behavior[addr]
	if !ok {
		b = s.dflt
	}
	k := s.seen[addr] + 1
	s.seen[addr] = k
	if b.Silent || dropped(b.Loss, k) {
		return 0, false
	}
	d := b.Delay
	if b.Jitter > 0 {
		d += time.Duration(s.rng.Int64N(2*int64(b.Jitter)+1)) - b.Jitter
	}
	return max(d, 0), true
}

// dropped reports whether the k-th request (from 1) is lost under loss.
func dropped(loss float64, k uint64) bool {
	switch {
	case loss <= 0 || math.IsNaN(loss):
		return false
	case loss >= 1:
		return true
	}
	return math.Floor(float64(k)*loss) > math.Floor(float64(k-1)*loss)
}

// close stops the responder and removes the namespace.
func (s *Sim) close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.dead {
		return nil
	}
	s.dead = true
	s.sched.close()
	var errs []error
	if s.c4 != nil {
		errs = append(errs, s.c4.Close())
	}
	if s.c6 != nil {
		errs = append(errs, s.c6.Close())
	}
	s.wg.Wait()
	errs = append(errs, s.ns.delete())
	return errors.Join(errs...)
}
