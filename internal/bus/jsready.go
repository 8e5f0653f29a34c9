package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
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
// between tries while JetStream cannot do it yet (a cluster still forming). Each try
// gets attemptTimeout: a request a forming cluster leaves unanswered is asked again.
func (b *Bus) RetryTransient(ctx context.Context, what string, f func(ctx context.Context) error) error {
	said := false
	for {
		attempt, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := f(attempt)
		cancel()
		if err == nil || !transient(err) || ctx.Err() != nil || b.server != nil && !b.server.JetStreamIsClustered() {
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

// attemptTimeout bounds one JetStream request while a cluster forms: a stream or
// bucket several replicas ask to make at once is sometimes left unanswered for one of
// them; asked again, it is found made.
const attemptTimeout = 3 * time.Second

// clusterReady says why a clustered embedded server cannot serve JetStream now: its
// JetStream cluster has no leader (this replica is cut off from most of the others,
// or they are down). An external NATS is asked (externalReady).
func (b *Bus) clusterReady() error {
	if b.server == nil {
		return b.externalReady()
	}
	if !b.server.JetStreamIsClustered() {
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

// externalReady says why an external NATS cannot serve JetStream now: it has not
// answered for the account for electionGrace (a NATS cluster that lost its quorum has
// no meta leader; the connection to one of its servers stays up meanwhile). Shorter
// silences are elections after a server of the cluster died: not a reason to leave
// the load balancer.
func (b *Bus) externalReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	_, err := b.js.AccountInfo(ctx)
	if err == nil {
		b.jsSilentSince.Store(0)
		return nil
	}
	now := time.Now().UnixNano()
	b.jsSilentSince.CompareAndSwap(0, now)
	if silent := time.Duration(now - b.jsSilentSince.Load()); silent < electionGrace {
		return nil
	}
	return fmt.Errorf("JetStream of the external NATS does not answer (a NATS cluster needs most of its servers up): %w", err)
}

// readyTimeout bounds Ready's question to an external NATS (/readyz allows 2 s).
const readyTimeout = time.Second

// electionGrace is how long an external NATS's JetStream may not answer before Ready
// says so: a NATS server's Raft election waits up to 9 s for a leader's heartbeat.
const electionGrace = 10 * time.Second

// RegisterClusterGauges exports pingdeck_bus_jetstream_meta_leader: 1 when this
// replica's embedded server leads the JetStream cluster's metadata (for operators, and
// for tests that kill the leader's replica).
func (b *Bus) RegisterClusterGauges(reg prometheus.Registerer) {
	if b.server == nil {
		return
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pingdeck_bus_jetstream_meta_leader",
		Help: "1 when this replica's embedded NATS server is the JetStream cluster's meta leader."},
		func() float64 {
			if b.server.JetStreamIsLeader() {
				return 1
			}
			return 0
		}))
}
