// Package wire holds the JSON shapes pingdeck's REST API and its live stream share: the
// group, target, user and notification objects, and the live stream's messages
// (PROTOCOL.md). Both internal/api and internal/live encode from these types, so a
// field has one name and one meaning wherever a client meets it.
//
// The live stream's per-tick encoding (results items, snapshot targets) is written by
// hand in internal/live for speed; its tests decode that output into these types, so
// the two cannot drift apart. The package imports only internal/groups and the
// standard library.
package wire
