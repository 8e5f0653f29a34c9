//go:build linux

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
	ns       *namespace
	attached int // links other simulators attached (Sim.Attach)
}

// maxPeers bounds the peers of one simulator: each gets its own /30 of 169.254.198.0/24.
const maxPeers = 64

// peerLink is the veth pair of peer number i: its interface names and addresses
// (link-local IPv4 and a unique-local IPv6 /126, inside the two namespaces only). A
// peer's pair can outlive it for a while (until every socket in its namespace is
// closed), so each peer gets names and addresses of its own.
type peerLink struct {
	simDev, peerDev string
	simSide4, peer4 netip.Prefix
	simSide6, peer6 netip.Prefix
}

func newPeerLink(i int) peerLink {
	return peerLink{
		simDev:   fmt.Sprintf("pdsim%d", i),
		peerDev:  fmt.Sprintf("pdpeer%d", i),
		simSide4: netip.PrefixFrom(netip.AddrFrom4([4]byte{169, 254, 198, byte(4*i + 1)}), 30),
		peer4:    netip.PrefixFrom(netip.AddrFrom4([4]byte{169, 254, 198, byte(4*i + 2)}), 30),
		simSide6: netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0xfd, 2: 0xff, 3: 0xff, 4: 0x01, 5: 0x98, 15: byte(4*i + 1)}), 126),
		peer6:    netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0xfd, 2: 0xff, 3: 0xff, 4: 0x01, 5: 0x98, 15: byte(4*i + 2)}), 126),
	}
}

// NewPeer creates the peer namespace and its link to the simulator, and registers
// their removal with t.Cleanup (before the simulator's own teardown).
func (s *Sim) NewPeer(t testing.TB) *Peer {
	t.Helper()
	s.mu.Lock()
	i := s.peers
	s.peers++
	s.mu.Unlock()
	if i >= maxPeers {
		t.Fatalf("pingtest: more than %d peers of one simulator", maxPeers)
	}
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
	if err := p.link(s, newPeerLink(i)); err != nil {
		t.Fatalf("pingtest: peer %s: %v", ns.name, err)
	}
	return p
}

// link makes the veth pair, one end in each namespace (it never exists in the
// host's), addresses it and routes the simulated ranges over it.
func (p *Peer) link(s *Sim, l peerLink) error {
	if err := ipBatch(s.ns.name, []string{
		"link add " + l.simDev + " type veth peer name " + l.peerDev + " netns " + p.ns.name,
		"address add " + l.simSide4.String() + " dev " + l.simDev,
		"address add " + l.simSide6.String() + " dev " + l.simDev + " nodad",
		"link set " + l.simDev + " up",
	}); err != nil {
		return err
	}
	if err := ipBatch(p.ns.name, []string{
		"link set lo up",
		"address add " + l.peer4.String() + " dev " + l.peerDev,
		"address add " + l.peer6.String() + " dev " + l.peerDev + " nodad",
		"link set " + l.peerDev + " up",
		"route add " + s.opts.Prefix4.String() + " via " + l.simSide4.Addr().String(),
		"route add " + s.opts.Prefix6.String() + " via " + l.simSide6.Addr().String(),
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

// Listen opens a listener inside the peer namespace (a receiver a server there can
// reach on the peer's loopback, say); it serves from any goroutine.
func (p *Peer) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := p.ns.run(func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pingtest: listen on %s in peer %s: %w", addr, p.ns.name, err)
	}
	return ln, nil
}
