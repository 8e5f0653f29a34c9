package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// WaitJetStream waits until JetStream answers: in a cluster, until enough of the
// replicas' servers are up to elect a leader. It says once, in the log, that it waits.
func (b *Bus) WaitJetStream(ctx context.Context) error {
	said := false
	for {
		op, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := b.js.AccountInfo(op)
		cancel()
		if err == nil {
			if said {
				b.log.Info("bus: JetStream is up")
			}
			return nil
		}
		if !said {
			b.log.Info("bus: waiting for JetStream (in a cluster: for a quorum of the replicas to be up)", "err", err)
			said = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bus: JetStream did not answer (in a cluster: are most replicas up and their --nats-routes right?): %w", err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// transient reports whether err says JetStream cannot do it now but will: no leader
// yet, too few servers up for the replicas asked, a timeout.
func transient(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode {
		case 10004, 10005, 10008, 10009, 10023: // incomplete, no peers, not available, not leader, insufficient resources
			return true
		}
		return api.Code == 503
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
}

// RetryTransient calls f until it succeeds, fails for good, or ctx ends; it waits
// between tries while JetStream cannot do it yet (a cluster still forming).
func (b *Bus) RetryTransient(ctx context.Context, what string, f func() error) error {
	said := false
	for {
		err := f()
		if err == nil || !transient(err) || b.replicas == 1 && b.server != nil && !b.server.JetStreamIsClustered() {
			return err
		}
		if !said {
			b.log.Info("bus: JetStream cannot make "+what+" yet; waiting for the cluster", "err", err)
			said = true
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// clusterReady says why a clustered embedded server cannot serve JetStream now: its
// JetStream cluster has no leader (this replica is cut off from most of the others,
// or they are down).
func (b *Bus) clusterReady() error {
	if b.server == nil || !b.server.JetStreamIsClustered() {
		return nil
	}
	info, err := b.server.Jsz(&server.JSzOptions{})
	switch {
	case err != nil:
		return fmt.Errorf("JetStream: %w", err)
	case info.Meta == nil || info.Meta.Leader == "":
		return errors.New("JetStream cluster has no leader: this replica reaches too few of the others (a quorum is needed)")
	}
	return nil
}
