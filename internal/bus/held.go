package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// HeldSubject is where the writer of a cluster answers for the results it holds in
// open blocks (not stored yet), so that a report on any replica counts them.
const HeldSubject = "pingdeck.v1.held"

// heldWait bounds one question to the writer.
const heldWait = 5 * time.Second

// HeldRequest asks for the held probes of targets (from locations; all when empty)
// sent in [from_us, to_us).
type HeldRequest struct {
	Targets   []string `json:"targets"`
	Locations []string `json:"locations,omitempty"`
	FromUs    int64    `json:"from_us"`
	ToUs      int64    `json:"to_us"`
}

// HeldBlock is one block's held probes, encoded as internal/probeblock does.
type HeldBlock struct {
	Target   string `json:"target"`
	Location string `json:"location"`
	StartUs  int64  `json:"start_us"`
	Data     []byte `json:"data"`
}

type heldReply struct {
	Blocks []HeldBlock `json:"blocks"`
	Error  string      `json:"error,omitempty"`
}

// AnswerHeld answers HeldSubject with answer until stop is called.
func (b *Bus) AnswerHeld(answer func(HeldRequest) []HeldBlock) (stop func(), err error) {
	sub, err := b.nc.Subscribe(HeldSubject, func(m *nats.Msg) {
		var req HeldRequest
		var reply heldReply
		if err := json.Unmarshal(m.Data, &req); err != nil {
			reply.Error = "bad request: " + err.Error()
		} else {
			reply.Blocks = answer(req)
		}
		data, _ := json.Marshal(reply)
		if max := b.nc.MaxPayload(); int64(len(data)) > max {
			data, _ = json.Marshal(heldReply{Error: fmt.Sprintf("%d bytes of held results, over the bus's %d-byte message limit", len(data), max)})
		}
		_ = m.Respond(data)
	})
	if err != nil {
		return nil, fmt.Errorf("bus: answer %s: %w", HeldSubject, err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

// AskHeld asks the cluster's writer for what it holds; with no writer answering
// (between one writer and the next), nothing is held.
func (b *Bus) AskHeld(ctx context.Context, req HeldRequest) ([]HeldBlock, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, heldWait)
	defer cancel()
	m, err := b.nc.RequestWithContext(ctx, HeldSubject, data)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bus: ask the writer for held results: %w", err)
	}
	var reply heldReply
	if err := json.Unmarshal(m.Data, &reply); err != nil {
		return nil, fmt.Errorf("bus: held results: %w", err)
	}
	if reply.Error != "" {
		return nil, fmt.Errorf("bus: held results: %s", reply.Error)
	}
	return reply.Blocks, nil
}
