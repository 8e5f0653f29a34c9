package agent

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// forwarder moves result batches from the agent's disk buffer (a local JetStream
// stream) to the server's result stream, in order, with their message IDs, and
// acknowledges each locally only once the server's stream confirmed it: a batch leaves
// the agent's disk only when it is on the server's. What was not confirmed is sent
// again, first. What the server's stream already
// has (a confirmation lost on the way) it drops as a duplicate by its ID.
type forwarder struct {
	from jetstream.Consumer  // the buffer's durable consumer
	to   jetstream.JetStream // the server's JetStream
	nc   *nats.Conn          // the server connection
	log  *slog.Logger
}

// forwardBatch is how many buffered batches are sent before waiting for confirmations.
const forwardBatch = 256

// retryAfter is how long the forwarder waits after the server did not confirm a send.
const retryAfter = time.Second

// run forwards until ctx ends.
func (f *forwarder) run(ctx context.Context) {
	for ctx.Err() == nil {
		if f.nc.Status() != nats.CONNECTED {
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		batch, err := f.from.Fetch(forwardBatch, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if ctx.Err() == nil {
				f.log.Warn("agent: reading the disk buffer", "err", err)
				sleep(ctx, retryAfter)
			}
			continue
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if len(msgs) > 0 && !f.forward(ctx, msgs) {
			sleep(ctx, retryAfter)
		}
	}
}

// forward sends msgs and acknowledges those the server confirmed; the others go back
// to the buffer, to be sent again. It says whether all were confirmed.
func (f *forwarder) forward(ctx context.Context, msgs []jetstream.Msg) bool {
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		fut, err := f.to.PublishMsgAsync(&nats.Msg{Subject: m.Subject(), Data: m.Data(), Header: m.Headers()})
		if err != nil {
			break
		}
		futures = append(futures, fut)
	}
	all := len(futures) == len(msgs)
	wait, cancel := context.WithTimeout(ctx, forwardTimeout)
	defer cancel()
	for i, m := range msgs {
		ok := false
		if i < len(futures) {
			select {
			case <-futures[i].Ok():
				ok = true
			case err := <-futures[i].Err():
				f.log.Debug("agent: the server did not take a batch; it stays buffered", "err", err)
			case <-wait.Done():
			}
		}
		if ok {
			_ = m.Ack()
			continue
		}
		// Back at once, and in order: the consumer redelivers naked batches before
		// new ones, so the server's stream receives a source's batches in the order
		// they were published (the writer counts a jump in "before" as a loss).
		all = false
		_ = m.Nak()
	}
	return all
}

// forwardTimeout bounds the wait for the server's confirmations of one send.
const forwardTimeout = 10 * time.Second

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
