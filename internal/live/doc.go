// Package live streams probe results and group changes to open dashboards over one
// WebSocket each (GET /api/v1/ws; the wire format is PROTOCOL.md / DESIGN.md §5).
//
// The Hub owns the set of connected clients and, per group, who follows it. Results
// reach it through Publish (the scheduler's sink: never blocks, bounded, drops
// counted); every tick it encodes each group's new items once and hands the same bytes
// to every client following that group, so the cost of a tick grows with what is
// delivered, not with clients × results. Each client has one reader and one writer
// goroutine and a bounded queue: a client that cannot keep up is closed with 4429
// instead of slowing anyone else. A ring of recent ticks per group lets a client that
// reconnects get exactly what it missed. The HTTP layer tells the hub about changes
// through the api.Events methods it implements.
package live
