package store

import (
	"strings"

	"pingdeck/internal/ping"
)

// A probe that never left is not a lost packet: a hostname with no address, or a send
// the kernel refused, says nothing about the path to the target. A block keeps why
// (probeblock's Unsent statuses, in the order of these codes), so reports count such
// probes apart, as errors, and keep them out of sent and loss.
const (
	unsentNone       int16 = 0 // the probe left: answered, or lost
	unsentNoSuchHost int16 = 1 // the name does not exist (NXDOMAIN)
	unsentNoAddress  int16 = 2 // the name did not resolve otherwise: DNS failure, no allowed address
	unsentSendFailed int16 = 3 // the kernel refused the send
	unsentOther      int16 = 4 // failed for a reason pingdeck does not know
)

// Probe outcomes as the report code sums them: an RTT in µs (≥ 0), or one of these.
const (
	lostUs    = -1 // sent, no answer in time
	notSentUs = -2 // never left (unsent ≠ 0)
)

// unsentCode classifies r by its Err (see ping.Result): a timeout, or no reason, is a
// lost packet; "resolve …" and "send: …" and any other reason are probes that did not leave.
func unsentCode(r *ping.Result) int16 {
	switch {
	case r.OK || r.Err == "" || r.Err == ping.ErrTimeout:
		return unsentNone
	case strings.HasPrefix(r.Err, "resolve "):
		if strings.HasSuffix(r.Err, "no such host") {
			return unsentNoSuchHost
		}
		return unsentNoAddress
	case strings.HasPrefix(r.Err, "send"):
		return unsentSendFailed
	}
	return unsentOther
}

// unsentReason is the short, user-facing reason for an unsent code, "" for none.
func unsentReason(code int16) string {
	switch code {
	case unsentNone:
		return ""
	case unsentNoSuchHost:
		return "no such host"
	case unsentNoAddress:
		return "does not resolve"
	case unsentSendFailed:
		return "send failed"
	}
	return "error"
}

// outcomeUs is r as the rollups sum it: its RTT in µs, lostUs or notSentUs.
func outcomeUs(r *ping.Result) int64 {
	switch {
	case unsentCode(r) != unsentNone:
		return notSentUs
	case !r.OK:
		return lostUs
	}
	return r.RTT.Microseconds()
}
