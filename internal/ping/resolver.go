package ping

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"pingdeck/internal/groups"
)

// How long name lookups are trusted: answers for a few minutes, failures briefly so a
// fixed DNS record is noticed soon.
const (
	resolveEvery      = 5 * time.Minute
	retryFailureAfter = 30 * time.Second
	lookupTimeout     = 3 * time.Second
)

// Resolver turns hostnames into the address to probe, refusing addresses the server's
// target policy does not allow. Its own goroutine (Run) looks the wanted names up and
// refreshes them; the scheduler only reads the cache (Cached), so a slow DNS server
// never holds up a change to what is probed.
type Resolver struct {
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	policy groups.TargetPolicy
	now    func() time.Time
	wake   chan struct{} // Want asks Run for a pass; capacity 1, a pending wake is enough

	mu     sync.Mutex
	wanted map[string]bool
	cache  map[string]resolved
}

type resolved struct {
	addr netip.Addr
	err  error
	at   time.Time
}

// fresh reports whether an answer looked up at c.at is still trusted at now.
func (c resolved) fresh(now time.Time) bool {
	if c.err != nil {
		return now.Sub(c.at) < retryFailureAfter
	}
	return now.Sub(c.at) < resolveEvery
}

// NewResolver resolves with the system resolver; lookup may be replaced in tests.
func NewResolver(policy groups.TargetPolicy, lookup func(ctx context.Context, host string) ([]netip.Addr, error)) *Resolver {
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	return &Resolver{lookup: lookup, policy: policy, now: time.Now, wake: make(chan struct{}, 1),
		wanted: map[string]bool{}, cache: map[string]resolved{}}
}

// Want sets the hostnames to keep resolved: new ones are looked up by Run at once,
// answers for names no longer wanted are forgotten (the cache stays bounded).
func (r *Resolver) Want(hosts map[string]bool) {
	r.mu.Lock()
	r.wanted = hosts
	for h := range r.cache {
		if !hosts[h] {
			delete(r.cache, h)
		}
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Cached returns host's last answer; known is false until its first lookup finished.
func (r *Resolver) Cached(host string) (addr netip.Addr, err error, known bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.cache[host]
	return c.addr, c.err, ok
}

// Run looks up every wanted name that has no fresh answer, until ctx ends, and calls
// changed when an answer differs from the one before (at most once a second during a
// long pass, and at its end), so the scheduler reads the cache again.
func (r *Resolver) Run(ctx context.Context, changed func()) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		pending, told := false, r.now()
		for _, host := range r.due() {
			if r.refresh(ctx, host) {
				pending = true
			}
			if ctx.Err() != nil {
				return
			}
			if pending && r.now().Sub(told) >= time.Second {
				changed()
				pending, told = false, r.now()
			}
		}
		if pending {
			changed()
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-tick.C:
		}
	}
}

// due lists the wanted names with no fresh answer.
func (r *Resolver) due() []string {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for h := range r.wanted {
		if c, ok := r.cache[h]; !ok || !c.fresh(now) {
			out = append(out, h)
		}
	}
	return out
}

// Allowed says why the target policy refuses to probe addr, or nil: addresses stored
// before a rule (or a --deny-targets entry) came in are checked again when probed.
func (r *Resolver) Allowed(addr netip.Addr) error {
	if err := r.policy.CheckAddr(addr); err != nil {
		return fmt.Errorf("%s %w", addr, err)
	}
	return nil
}

// Resolve looks host up now, not from the cache: the address to probe (IPv4
// preferred, allowed by the target policy), or why there is none.
func (r *Resolver) Resolve(ctx context.Context, host string) (netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	return r.pick(ctx, host)
}

// refresh looks host up and stores the answer; it reports whether the answer changed.
func (r *Resolver) refresh(ctx context.Context, host string) bool {
	addr, err := r.Resolve(ctx, host)
	if ctx.Err() != nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.wanted[host] {
		return false // no longer wanted while it was looked up
	}
	old, had := r.cache[host]
	r.cache[host] = resolved{addr: addr, err: err, at: r.now()}
	return !had || old.addr != addr || (old.err == nil) != (err == nil)
}

func (r *Resolver) pick(ctx context.Context, host string) (netip.Addr, error) {
	addrs, err := r.lookup(ctx, host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	var refusal error
	for _, want4 := range []bool{true, false} {
		for _, a := range addrs {
			a = a.Unmap()
			if a.Is4() != want4 {
				continue
			}
			if err := r.policy.CheckAddr(a); err != nil {
				refusal = fmt.Errorf("resolve %s: %s %w", host, a, err)
				continue
			}
			return a, nil
		}
	}
	if refusal != nil {
		return netip.Addr{}, refusal
	}
	return netip.Addr{}, fmt.Errorf("resolve %s: no addresses", host)
}
