//go:build linux

package pingtest

import (
	"fmt"
	"net/netip"
	"testing"
)

// Link is a veth pair between a simulator's namespace and a peer of another simulator
// (Sim.Attach): a program in the simulator's namespace (an agent probing its own
// simulated sites) reaches a server in the peer at PeerAddr. Nothing is routed over
// it but the pair's own /30.
type Link struct {
	sim      *namespace
	simDev   string
	PeerAddr netip.Addr
}

// Attach links s's namespace to p, a peer of another simulator. The peer keeps its
// routes to its own simulator; s keeps answering its own ranges. The pair goes with
// either namespace.
func (s *Sim) Attach(t testing.TB, p *Peer) *Link {
	t.Helper()
	p.attached++
	i := p.attached
	if i >= maxPeers {
		t.Fatalf("pingtest: more than %d links to peer %s", maxPeers, p.ns.name)
	}
	simDev, peerDev := fmt.Sprintf("pdlks%d", i), fmt.Sprintf("pdlkp%d", i)
	simSide := netip.PrefixFrom(netip.AddrFrom4([4]byte{169, 254, 197, byte(4*i + 1)}), 30)
	peerSide := netip.PrefixFrom(netip.AddrFrom4([4]byte{169, 254, 197, byte(4*i + 2)}), 30)
	if err := ipBatch(s.ns.name, []string{
		"link add " + simDev + " type veth peer name " + peerDev + " netns " + p.ns.name,
		"address add " + simSide.String() + " dev " + simDev,
		"link set " + simDev + " up",
	}); err != nil {
		t.Fatalf("pingtest: attach %s to %s: %v", s.ns.name, p.ns.name, err)
	}
	if err := ipBatch(p.ns.name, []string{
		"address add " + peerSide.String() + " dev " + peerDev,
		"link set " + peerDev + " up",
	}); err != nil {
		t.Fatalf("pingtest: attach %s to %s: %v", s.ns.name, p.ns.name, err)
	}
	return &Link{sim: s.ns, simDev: simDev, PeerAddr: peerSide.Addr()}
}

// SetUp brings the link up or down on the simulator's side: down cuts whatever runs in
// the simulator's namespace off from the peer (as a site losing its uplink).
func (l *Link) SetUp(up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return ipBatch(l.sim.name, []string{"link set " + l.simDev + " " + state})
}
