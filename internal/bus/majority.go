package bus

import "github.com/nats-io/nats-server/v2/server"

// ReachesMajority reports whether this replica's embedded NATS server has routes to
// most of its JetStream cluster's servers (itself counted): then a bucket that does not
// answer is electing a leader among servers this one reaches, rather than going on
// without it. False when not clustered, or for an external NATS (nothing to ask).
func (b *Bus) ReachesMajority() bool {
	if b.server == nil || !b.server.JetStreamIsClustered() {
		return false
	}
	return reachesMajority(b.server)
}

func reachesMajority(s *server.Server) bool {
	jsz, err := s.Jsz(&server.JSzOptions{})
	if err != nil || jsz.Meta == nil || jsz.Meta.Size == 0 {
		return false
	}
	rz, err := s.Routez(nil)
	if err != nil {
		return false
	}
	peers := map[string]bool{}
	for _, r := range rz.Routes {
		if r.RemoteName != "" {
			peers[r.RemoteName] = true
		}
	}
	return 2*(len(peers)+1) > jsz.Meta.Size
}
