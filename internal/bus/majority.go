package bus

import (
	"context"

	"github.com/nats-io/nats-server/v2/server"
)

// ReachesMajority reports whether this replica is on the side of the NATS cluster that
// holds most of its servers: then a bucket that does not answer is electing a leader
// among servers it reaches, rather than going on without it. An embedded server
// counts its routes; for an external NATS, its JetStream answering means the server
// this replica is connected to reaches the metadata's leader, so most servers. False
// for an embedded server alone.
func (b *Bus) ReachesMajority() bool {
	if b.server == nil {
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		_, err := b.js.AccountInfo(ctx)
		return err == nil
	}
	if !b.server.JetStreamIsClustered() {
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
