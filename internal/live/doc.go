// Package live streams probe results and group changes to open dashboards over one
// WebSocket each (GET /api/v1/ws; the wire format is PROTOCOL.md / DESIGN.md §5).
//
// The Hub owns the set of connected clients and, per group, who follows it. Results
// reach it through Publish (the scheduler's sink: never blocks, bounded, drops
// counted). Every 6.25 ms it cuts what arrived, encodes each group's new items once,
// and flushes one of 32 slots of clients: each client gets, every 200 ms, one
// message spliced from the once-encoded fragments of its groups, so the cost grows
// with what is delivered, not with clients × results, and the writes are spread
// evenly instead of bunching up at a tick. Each client has a reader goroutine and a
// bounded queue; a writer runs only while the queue has messages, and a results
// message to a socket with room and nothing queued is written by the flush loop
// itself (on a thread at a lower priority than the API's), so a slot's writes mostly
// run on one goroutine. A client that
// cannot keep up is closed with 4429 instead of slowing anyone else. A ring of recent
// results per group lets a client that reconnects get exactly what it missed. The
// HTTP layer tells the hub about changes through the api.Events methods it implements.
package live
