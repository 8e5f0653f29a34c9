// Package ping will hold pingdeck's probe engines (pro-bing and the shared-socket
// engine), the scheduler that keeps probed targets in step with stored groups, and the
// probe Result type. It is filled by the probe-engine issue; nothing imports it yet.
package ping
