package pingtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
)

// Peer is a second network namespace wired to a simulator's by a veth pair: the
// simulated ranges are routed to the simulator, while the peer's own loopback answers
// as a normal host's does (the kernel replies to 127.0.0.0/8 there). A program run in
// the peer (`ip netns exec <Name> …`) therefore reaches loopback targets and simulated
// targets at once. Neither namespace has any other interface or a default route, so
// nothing leaves the machine. Datagram ICMP sockets are allowed in the peer.
type Peer struct {
	ns *namespace
}

// Addresses of the veth pair: link-local, inside the two namespaces only.
var (
	peerSimSide4  = netip.MustParsePrefix("169.254.198.1/30")
	peerPeerSide4 = netip.MustParsePrefix("169.254.198.2/30")
	peerSimSide6  = netip.MustParsePrefix("fd00:ffff:198::1/126")
	peerPeerSide6 = netip.MustParsePrefix("fd00:ffff:198::2/126")
)

// NewPeer creates the peer namespace and its link to the simulator, and registers
// their removal with t.Cleanup (before the simulator's own teardown).
func (s *Sim) NewPeer(t testing.TB) *Peer {
	t.Helper()
	ns, err := newNamespace()
	if err != nil {
		t.Fatalf("pingtest: peer: %v", err)
	}
	p := &Peer{ns: ns}
	t.Cleanup(func() {
		if err := ns.delete(); err != nil {
			t.Errorf("pingtest: teardown of peer %s: %v", ns.name, err)
		}
	})
	if err := p.link(s); err != nil {
		t.Fatalf("pingtest: peer %s: %v", ns.name, err)
	}
	return p
}

// link makes the veth pair, one end in each namespace (it never exists in the
// host's), addresses it and routes the simulated ranges over it.
func (p *Peer) link(s *Sim) error {
	if err := ipBatch(s.ns.name, []string{
		"link add pdsim type veth peer name pdpeer netns " + p.ns.name,
		"address add " + peerSimSide4.String() + " dev pdsim",
		"address add " + peerSimSide6.String() + " dev pdsim nodad",
		"link set pdsim up",
	}); err != nil {
		return err
	}
	if err := ipBatch(p.ns.name, []string{
		"link set lo up",
		"address add " + peerPeerSide4.String() + " dev pdpeer",
		"address add " + peerPeerSide6.String() + " dev pdpeer nodad",
		"link set pdpeer up",
		"route add " + s.opts.Prefix4.String() + " via " + peerSimSide4.Addr().String(),
		"route add " + s.opts.Prefix6.String() + " via " + peerSimSide6.Addr().String(),
	}); err != nil {
		return err
	}
	return p.ns.sysctl("net/ipv4/ping_group_range", "0 2147483647")
}

// Name is the peer namespace's name, for `ip netns exec <name> …`.
func (p *Peer) Name() string { return p.ns.name }

// DialContext connects from inside the peer namespace, so a test can talk to a server
// running there (on the peer's 127.0.0.1, say). It fits http.Transport.DialContext.
func (p *Peer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	err := p.ns.run(func() error {
		var err error
		conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pingtest: dial %s in peer %s: %w", addr, p.ns.name, err)
	}
	if conn == nil {
		return nil, errors.New("pingtest: dial returned no connection")
	}
	return conn, nil
}
