package live

import (
	"pingdeck/internal/groups"
	"pingdeck/internal/wire"
)

// locationsOf lists where a group is probed from, its first location first: the
// server's own when it names none.
func (h *Hub) locationsOf(g *groups.Group) []string {
	if g != nil && len(g.Locations) > 0 {
		return g.Locations
	}
	return []string{h.opt.Location}
}

// online says whether location probes now (h.mu is held): the server's own always;
// an agent's until it has been silent for 10 s.
func (h *Hub) online(location string) bool { return !h.offline[location] }

// SetLocations tells the hub which locations there are and which probe now (sites
// calls it whenever one goes online or offline): every started socket gets a locations
// message, and snapshots built from now on show an offline location's cells as
// offline.
func (h *Hub) SetLocations(locs []wire.Location) {
	msg := controlMessage(wire.LocationsMessage{Type: wire.TypeLocations, Locations: locs})
	offline := map[string]bool{}
	for _, l := range locs {
		if !l.Online {
			offline[l.Name] = true
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.offline, h.locationsMsg = offline, msg
	for _, g := range h.groups {
		g.snapBuilt = false
	}
	out := message(kindControl, msg)
	for _, set := range h.byUser { // past hello: a socket not yet started gets it after its hello
		for c := range set {
			c.send(out)
		}
	}
}
