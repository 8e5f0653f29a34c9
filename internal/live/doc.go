// Package live will hold the WebSocket hub that streams probe results to open
// dashboards, one connection per dashboard. It is filled by the live-stream issue;
// nothing imports it yet.
package live
