package api

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"pingdeck/internal/groups"
)

// HostResolver looks a hostname up now: the address to probe, allowed by the target
// policy, or why there is none. ping.Resolver implements it.
type HostResolver interface {
	Resolve(ctx context.Context, host string) (netip.Addr, error)
}

// How hostnames are checked when added: each lookup gets resolveTimeout, at most
// resolveParallel run at once, and the whole request's lookups end after
// resolveBudget (names not looked up by then count as timed out), so a slow DNS
// server cannot hold a request for long.
const (
	resolveTimeout  = 2 * time.Second
	resolveParallel = 16
	resolveBudget   = 10 * time.Second
)

// noAddressText is how ping.Resolver says a name's answer held no address at all.
const noAddressText = "no addresses"

// resolution is what the add-time lookup of one hostname found.
type resolution struct {
	addr       netip.Addr
	unresolved string // why the name did not resolve (it may later): "no such host", …
	refused    string // the name resolves, but only to addresses the policy refuses
}

// resolveHostnames looks up the hostnames among targets, in parallel but bounded, and
// sets the address of those that resolve. A name that does not resolve is skipped
// with its reason unless allowUnresolved, when it is kept and named in unresolved
// (target ID → reason). A name that resolves only to refused addresses is always
// skipped: the target policy applies after DNS too. Without a resolver nothing is
// checked.
func (s *server) resolveHostnames(ctx context.Context, targets []groups.Target, allowUnresolved bool) (kept []groups.Target, skipped []groups.SkippedInput, unresolved map[string]string) {
	if s.Resolver == nil {
		return targets, nil, nil
	}
	var hosts []int
	for i := range targets {
		if !targets[i].IP.IsValid() {
			hosts = append(hosts, i)
		}
	}
	if len(hosts) == 0 {
		return targets, nil, nil
	}
	found := make([]resolution, len(targets))
	ctx, cancel := context.WithTimeout(ctx, resolveBudget)
	defer cancel()
	var wg sync.WaitGroup
	slots := make(chan struct{}, resolveParallel)
	for _, i := range hosts {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			found[i] = resolution{unresolved: "DNS lookup timed out"}
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			found[i] = s.resolveOne(ctx, targets[i].Address)
		})
	}
	wg.Wait()
	kept = targets[:0:0]
	for i, t := range targets {
		r := found[i]
		switch {
		case r.refused != "":
			skipped = append(skipped, groups.SkippedInput{Input: t.Address, Reason: "resolves to " + r.refused})
			continue
		case r.unresolved != "" && !allowUnresolved:
			skipped = append(skipped, groups.SkippedInput{Input: t.Address, Reason: "does not resolve: " + r.unresolved})
			continue
		case r.unresolved != "":
			if unresolved == nil {
				unresolved = map[string]string{}
			}
			unresolved[t.ID] = r.unresolved
		case r.addr.IsValid():
			t.IP = r.addr
		}
		kept = append(kept, t)
	}
	return kept, skipped, unresolved
}

// resolveOne looks host up within resolveTimeout and classifies the answer.
func (s *server) resolveOne(ctx context.Context, host string) resolution {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addr, err := s.Resolver.Resolve(ctx, host)
	if err == nil {
		return resolution{addr: addr}
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return resolution{unresolved: "no such host"}
	case errors.As(err, &dnsErr) && dnsErr.IsTimeout, errors.Is(err, context.DeadlineExceeded):
		return resolution{unresolved: "DNS lookup timed out"}
	case errors.As(err, &dnsErr):
		return resolution{unresolved: dnsErr.Err}
	}
	// ping.Resolver's own answers: "resolve <host>: no addresses", or
	// "resolve <host>: <addr> <why the policy refuses it>".
	why := strings.TrimPrefix(err.Error(), "resolve "+host+": ")
	if why == noAddressText {
		return resolution{unresolved: "no address"}
	}
	return resolution{refused: why}
}
