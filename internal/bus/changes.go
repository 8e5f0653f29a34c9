package bus

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"pingdeck/internal/groups"
)

// Change events travel on core NATS, one subject per kind, JSON-encoded groups.Change.
// They are "now" events: a process that was not connected when one was published does
// not get it, and the hub and the scheduler resync from the database periodically.
//
// The subject carries the major version of the payload (PROTOCOL.md, "Bus"): within v1
// fields are only added, and readers ignore fields they do not know; anything else is
// a new version on new subjects.
const (
	changeSubjectPrefix = "pingdeck.v1.changes."
	// ChangeSubjects matches every change subject.
	ChangeSubjects = changeSubjectPrefix + ">"
)

// ChangeSubject is the subject changes of kind k are published on.
func ChangeSubject(k groups.ChangeKind) string { return changeSubjectPrefix + string(k) }

// PublishChange publishes c on its subject. It does not wait for the server: NATS
// buffers the message (also while reconnecting, up to its reconnect buffer), so the
// store's publish after a commit never blocks on the bus. A change too large for one
// message is split into several of the same kind, each naming part of its ID lists.
// A change that cannot be published is logged: the subscribers' periodic resync
// repairs what it would have told them.
func (b *Bus) PublishChange(c groups.Change) {
	for _, part := range b.encodeChange(c) {
		if err := b.nc.Publish(ChangeSubject(c.Kind), part); err != nil {
			b.log.Warn("bus: change not published", "kind", c.Kind, "group", c.GroupID, "err", err)
		}
	}
}

// Publish is PublishChange, so a Bus is the store's Publisher.
func (b *Bus) Publish(c groups.Change) { b.PublishChange(c) }

// encodeChange is c as one or more messages that each fit the server's payload limit.
func (b *Bus) encodeChange(c groups.Change) [][]byte {
	raw, err := json.Marshal(c)
	if err != nil { // a Change has only strings, bools and times: cannot happen
		b.log.Error("bus: encode change", "kind", c.Kind, "err", err)
		return nil
	}
	if int64(len(raw)) <= b.maxPayload() {
		return [][]byte{raw}
	}
	first, second, ok := splitChange(c)
	if !ok {
		b.log.Error("bus: change larger than the bus's payload limit and not divisible; not published",
			"kind", c.Kind, "bytes", len(raw), "limit", b.maxPayload())
		return nil
	}
	return append(b.encodeChange(first), b.encodeChange(second)...)
}

// maxPayload is the largest message the server takes, less room for the protocol.
func (b *Bus) maxPayload() int64 {
	if n := b.nc.MaxPayload(); n > 0 {
		return n
	}
	return 1 << 20 // before the first connection: NATS's default
}

// splitChange halves the longest ID list of c: two changes of the same kind that
// together say what c says (each list names things changed independently).
func splitChange(c groups.Change) (groups.Change, groups.Change, bool) {
	lists := []*[]string{&c.TargetIDs, &c.GroupIDs, &c.CredentialIDs}
	longest := lists[0]
	for _, l := range lists[1:] {
		if len(*l) > len(*longest) {
			longest = l
		}
	}
	if len(*longest) < 2 {
		return c, c, false
	}
	all := *longest
	half := len(all) / 2
	*longest = all[:half:half]
	first := c
	*longest = all[half:]
	second := c
	return first, second, true
}

// ChangeSubscription delivers the changes on the bus to a local subscriber.
type ChangeSubscription struct {
	sub *nats.Subscription
}

// SubscribeChanges hands every change published on the bus, by any process, to to,
// one at a time on one goroutine, in the order each publisher published them (NATS
// keeps the order of one connection's messages to one subscription; the store
// publishes each change after its commit, so one group's changes arrive in commit
// order). to.HandleChange must not block. A message that does not decode is logged
// and dropped.
//
// Up to pendingChanges messages wait for to; past that NATS drops the newest and the
// connection's error handler logs a slow consumer.
func (b *Bus) SubscribeChanges(to groups.Subscriber) (*ChangeSubscription, error) {
	sub, err := b.nc.Subscribe(ChangeSubjects, func(m *nats.Msg) {
		var c groups.Change
		if err := json.Unmarshal(m.Data, &c); err != nil {
			b.log.Warn("bus: undecodable change dropped", "subject", m.Subject, "err", err)
			return
		}
		if kind := strings.TrimPrefix(m.Subject, changeSubjectPrefix); string(c.Kind) != kind {
			b.log.Warn("bus: change on the wrong subject dropped", "subject", m.Subject, "kind", c.Kind)
			return
		}
		to.HandleChange(c)
	})
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe to %s: %w", ChangeSubjects, err)
	}
	if err := sub.SetPendingLimits(pendingChanges, pendingChangeBytes); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("bus: limit %s: %w", ChangeSubjects, err)
	}
	// The subscription must be known to the server before anything is published, or a
	// change committed right after start could pass it by.
	if err := b.nc.Flush(); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("bus: subscribe to %s: %w", ChangeSubjects, err)
	}
	return &ChangeSubscription{sub: sub}, nil
}

const (
	pendingChanges     = 65536
	pendingChangeBytes = 64 << 20
)

// Stop ends the subscription: changes published from now on are not delivered.
func (s *ChangeSubscription) Stop() error {
	if err := s.sub.Unsubscribe(); err != nil && err != nats.ErrConnectionClosed && err != nats.ErrBadSubscription {
		return fmt.Errorf("bus: unsubscribe %s: %w", ChangeSubjects, err)
	}
	return nil
}
