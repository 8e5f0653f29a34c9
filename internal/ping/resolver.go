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

// Resolver turns hostnames into the address to probe, caching answers and refusing
// addresses the server's target policy does not allow.
type Resolver struct {
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	policy groups.TargetPolicy
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]resolved
}

type resolved struct {
	addr netip.Addr
	err  error
	at   time.Time
}

// NewResolver resolves with the system resolver; lookup may be replaced in tests.
func NewResolver(policy groups.TargetPolicy, lookup func(ctx context.Context, host string) ([]netip.Addr, error)) *Resolver {
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	return &Resolver{lookup: lookup, policy: policy, now: time.Now, cache: map[string]resolved{}}
}

// Resolve returns host's address (IPv4 preferred), from the cache while it is fresh.
func (r *Resolver) Resolve(ctx context.Context, host string) (netip.Addr, error) {
	now := r.now()
	r.mu.Lock()
	c, ok := r.cache[host]
	r.mu.Unlock()
	if ok && (c.err == nil && now.Sub(c.at) < resolveEvery || c.err != nil && now.Sub(c.at) < retryFailureAfter) {
		return c.addr, c.err
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addr, err := r.pick(ctx, host)
	r.mu.Lock()
	r.cache[host] = resolved{addr: addr, err: err, at: now}
	r.mu.Unlock()
	return addr, err
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

// Forget drops cached answers for hosts not in keep, bounding the cache to the hosts
// still in use.
func (r *Resolver) Forget(keep map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for h := range r.cache {
		if !keep[h] {
			delete(r.cache, h)
		}
	}
}
