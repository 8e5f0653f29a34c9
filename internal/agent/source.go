package agent

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"pingdeck/internal/bus"
	"pingdeck/internal/ping"
)

// assignments is the agent's ping.Source: what the servers say its location probes,
// asked over the bus (the groups, then each group's targets, so that no answer grows
// with the whole assignment).
type assignments struct {
	nc       *nats.Conn
	location string

	mu      sync.Mutex
	byGroup map[string]int // targets per group, as last answered
}

func newAssignments(nc *nats.Conn, location string) *assignments {
	return &assignments{nc: nc, location: location, byGroup: map[string]int{}}
}

var _ ping.Source = (*assignments)(nil)

// ActiveTargets asks for every group and its targets.
func (a *assignments) ActiveTargets(ctx context.Context) ([]ping.Desired, error) {
	reply, err := a.request(ctx, bus.AssignmentsRequest{})
	if err != nil {
		return nil, err
	}
	var out []ping.Desired
	counts := make(map[string]int, len(reply.Groups))
	for _, g := range reply.Groups {
		ds, err := a.group(ctx, g)
		if err != nil {
			return nil, err
		}
		counts[g] = len(ds)
		out = append(out, ds...)
	}
	a.mu.Lock()
	a.byGroup = counts
	a.mu.Unlock()
	return out, nil
}

// ActiveTargetsOfGroup asks for one group's targets: none when it is no longer probed
// from this location.
func (a *assignments) ActiveTargetsOfGroup(ctx context.Context, groupID string) ([]ping.Desired, error) {
	ds, err := a.group(ctx, groupID)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if len(ds) == 0 {
		delete(a.byGroup, groupID)
	} else {
		a.byGroup[groupID] = len(ds)
	}
	a.mu.Unlock()
	return ds, nil
}

// SetTargetIP does nothing: the server records addresses its own resolver finds; the
// agent resolves names from its own site for itself.
func (a *assignments) SetTargetIP(context.Context, string, netip.Addr) error { return nil }

// targets is how many targets the agent was last told to probe.
func (a *assignments) targets() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.byGroup {
		n += c
	}
	return n
}

func (a *assignments) group(ctx context.Context, groupID string) ([]ping.Desired, error) {
	reply, err := a.request(ctx, bus.AssignmentsRequest{Group: groupID})
	if err != nil {
		return nil, err
	}
	out := make([]ping.Desired, 0, len(reply.Targets))
	for _, t := range reply.Targets {
		d := ping.Desired{Address: t.Address, Target: ping.Target{ID: t.ID, GroupID: t.Group, Size: t.Size,
			Interval: time.Duration(t.IntervalMs) * time.Millisecond, Timeout: time.Duration(t.TimeoutMs) * time.Millisecond}}
		if t.IP != "" {
			ip, err := netip.ParseAddr(t.IP)
			if err != nil {
				return nil, fmt.Errorf("assignments: target %s: ip %q: %w", t.ID, t.IP, err)
			}
			d.Addr = ip
		}
		out = append(out, d)
	}
	return out, nil
}

func (a *assignments) request(ctx context.Context, req bus.AssignmentsRequest) (bus.AssignmentsReply, error) {
	if a.nc.Status() != nats.CONNECTED {
		return bus.AssignmentsReply{}, fmt.Errorf("not connected to the server (%s)", a.nc.Status())
	}
	if err := ctx.Err(); err != nil {
		return bus.AssignmentsReply{}, err
	}
	return bus.RequestAssignments(a.nc, a.location, req)
}
