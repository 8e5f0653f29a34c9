package bus

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go"

	"pingdeck/internal/ping"
)

// ResultFeed hands a live hub the results of the groups it follows, from every
// location, as they are published. It subscribes to a group's subjects when the hub
// follows it and drops the subscription when the hub stops; all subscriptions share
// one buffer and one delivering goroutine (Run).
type ResultFeed struct {
	nc  *nats.Conn
	log *slog.Logger
	ch  chan *nats.Msg

	mu   sync.Mutex
	subs map[string]*nats.Subscription
}

// NewResultFeed returns a feed buffering up to buffer messages; past that NATS drops
// them (a slow consumer, logged) rather than holding the publisher.
func (b *Bus) NewResultFeed(buffer int) *ResultFeed {
	return &ResultFeed{nc: b.nc, log: b.log, ch: make(chan *nats.Msg, buffer), subs: map[string]*nats.Subscription{}}
}

// Follow subscribes to group's results; following a group already followed does nothing.
func (f *ResultFeed) Follow(groupID string) error {
	if !validToken(groupID) {
		return fmt.Errorf("bus: group ID %q cannot be a subject token", groupID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs[groupID] != nil {
		return nil
	}
	sub, err := f.nc.ChanSubscribe(ResultSubject("*", groupID), f.ch)
	if err != nil {
		return fmt.Errorf("bus: follow group %s: %w", groupID, err)
	}
	f.subs[groupID] = sub
	return nil
}

// Unfollow drops the subscription to group's results, if any.
func (f *ResultFeed) Unfollow(groupID string) {
	f.mu.Lock()
	sub := f.subs[groupID]
	delete(f.subs, groupID)
	f.mu.Unlock()
	if sub != nil {
		if err := sub.Unsubscribe(); err != nil {
			f.log.Debug("bus: unfollow", "group", groupID, "err", err)
		}
	}
}

// Run decodes what arrives and hands each batch to deliver, until ctx ends; then it
// drops every subscription.
func (f *ResultFeed) Run(ctx context.Context, deliver func([]ping.Result)) {
	defer func() {
		f.mu.Lock()
		subs := f.subs
		f.subs = map[string]*nats.Subscription{}
		f.mu.Unlock()
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-f.ch:
			if m.Header.Get(RepublishedHeader) != "" {
				continue // its first publish came already
			}
			got, err := DecodeResults(m.Subject, m.Data)
			if err != nil {
				f.log.Warn("bus: a result message the live feed cannot read; skipped", "subject", m.Subject, "err", err)
				continue
			}
			deliver(got.Results)
		}
	}
}
