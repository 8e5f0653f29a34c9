// Package live streams probe results and group changes to open dashboards over one
// WebSocket each (GET /api/v1/ws; the wire format is PROTOCOL.md, the shapes internal/wire).
//
// Words, one per idea: a tick (Options.Tick, 200 ms) is how often each client gets a
// results message; a cut (every Tick/32) takes the results published since the last
// one and numbers them (seq); a slot is the share of clients flushed at one cut, so
// every client is flushed once per tick.
//
// The Hub owns the set of connected clients and, per group, who follows it. Results
// reach it through Publish (the scheduler's sink: never blocks, bounded, drops
// counted). Every Tick/32 (6.25 ms) it cuts what arrived, encodes each group's new
// items once, and flushes one of 32 slots of clients: each client gets, every Tick,
// one results message spliced from the once-encoded fragments of its groups, so the
// cost grows with what is delivered, not with clients × results, and the writers are
// woken a slot at a time instead of all at once.
//
// Each client is gorilla's chat example: a reader goroutine (reader.go: read limit,
// pong deadline, a per-socket rate limit) and one writer goroutine (writer.go:
// NextWriter, a write deadline per message, pings), the only one to write to the
// socket. Between them is a queue bounded in bytes over every kind of message
// (client.go); a client that would pass the bound cannot keep up and is closed with
// 4429 instead of slowing anyone else or growing the server. Snapshots and
// group_updated, which carry every target of a group, wait in the queue as a group ID
// and are built when the writer gets to them (groupmsg.go), at most one per group
// per client. A ring of recent results per group lets a client that reconnects get
// exactly what it missed (resume.go). Changes reach the hub from the store, which
// publishes each committed change once (groups.Change); the hub subscribes and
// applies it (HandleChange, events.go).
//
// Close codes are listed with CloseTooSlow.
package live
