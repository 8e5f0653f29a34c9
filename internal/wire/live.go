package wire

// The live stream's messages (PROTOCOL.md). Every message is a JSON object with a
// "type". The server writes results, snapshot and group_updated by hand (see
// internal/live/encode.go); the types below are their shape for readers and tests.

import "time"

// Message types, server → client.
const (
	TypeHello         = "hello"
	TypeSnapshot      = "snapshot"
	TypeResults       = "results"
	TypeGroupUpdated  = "group_updated"
	TypeGroupDeleted  = "group_deleted"
	TypeAccessRevoked = "access_revoked"
	TypeNotification  = "notification"
	TypePong          = "pong"
	TypeError         = "error"
	TypeLocations     = "locations"
)

// Message types, client → server.
const (
	TypeSubscribe   = "subscribe"
	TypeUnsubscribe = "unsubscribe"
	TypeResume      = "resume"
	TypePing        = "ping"
)

// Codes of an error message.
const (
	CodeInvalid  = "invalid"
	CodeNotFound = "not_found"
	CodeInternal = "internal"
)

// Hello is the first message on a socket.
type Hello struct {
	Type        string   `json:"type"` // TypeHello
	User        Identity `json:"user"`
	ServerTime  string   `json:"server_time"`  // RFC 3339, the clock result times are on
	ResumeToken string   `json:"resume_token"` // changes with every server start
	Seq         uint64   `json:"seq"`          // the newest results seq
	Location    string   `json:"location"`     // the server's own location
}

// Sample is one probe result of a snapshot target: sent at (unix ms), whether it was
// answered, and the round trip in ms (µs precision), null when lost. Loc is the
// location it was probed from, when the stream says (DESIGN §9).
type Sample struct {
	At    int64    `json:"at"`
	OK    bool     `json:"ok"`
	RTTMs *float64 `json:"rtt_ms"`
	Err   string   `json:"err,omitempty"`
	Loc   string   `json:"loc,omitempty"`
}

// Target states.
const (
	StateUp      = "up"
	StateDown    = "down"
	StateUnknown = "unknown"
	StatePaused  = "paused"
	// StateOffline: the location's agent has not been heard from for 10 s; what it
	// does not probe is not probed, never lost.
	StateOffline = "offline"
)

// LiveTarget is a snapshot's target: the REST target and its live state.
type LiveTarget struct {
	Target
	State  string   `json:"state"`   // StateUp, StateDown, StateUnknown or StatePaused
	Last   *Sample  `json:"last"`    // the newest sample, null before the first
	Loss1m *float64 `json:"loss_1m"` // share of the last minute's probes lost, 0..1; null with none
	Recent []Sample `json:"recent"`  // the last samples, oldest first
	// ByLocation is the same state per location the group is probed from (the
	// top-level fields are its first location's).
	ByLocation map[string]LiveCell `json:"by_location"`
}

// LiveCell is a target's live state at one location.
type LiveCell struct {
	State  string   `json:"state"`
	Last   *Sample  `json:"last"`
	Loss1m *float64 `json:"loss_1m"`
	Recent []Sample `json:"recent"`
}

// Location is a place groups are probed from, and whether it probes now.
type Location struct {
	Name     string     `json:"name"`
	Kind     string     `json:"kind"`            // LocationServer or LocationAgent
	Agent    string     `json:"agent,omitempty"` // the agent's name
	Online   bool       `json:"online"`
	LastSeen *time.Time `json:"last_seen"`
}

// Location kinds.
const (
	LocationServer = "server"
	LocationAgent  = "agent"
)

// LocationsMessage says which locations there are and which probe now: after hello
// and whenever one goes online or offline.
type LocationsMessage struct {
	Type      string     `json:"type"` // TypeLocations
	Locations []Location `json:"locations"`
}

// LiveGroup is the group of a snapshot or group_updated: the REST group with live
// targets.
type LiveGroup struct {
	Group
	Targets []LiveTarget `json:"targets"`
}

// GroupMessage is a snapshot or a group_updated.
type GroupMessage struct {
	Type  string    `json:"type"` // TypeSnapshot or TypeGroupUpdated
	Group LiveGroup `json:"group"`
}

// Item is one probe result of a results message.
type Item struct {
	G     string   `json:"g"`   // group ID
	T     string   `json:"t"`   // target ID
	Loc   string   `json:"loc"` // where it was probed from
	At    int64    `json:"at"`
	OK    bool     `json:"ok"`
	RTTMs *float64 `json:"rtt_ms"`
	Err   string   `json:"err,omitempty"` // why the probe failed; only when !OK
}

// Results is a tick's probe results of the groups a socket follows.
type Results struct {
	Type  string `json:"type"` // TypeResults
	Seq   uint64 `json:"seq"`
	Items []Item `json:"items"`
}

// IDMessage is group_deleted or access_revoked: which group.
type IDMessage struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Error is a message the server could not act on.
type Error struct {
	Type    string `json:"type"` // TypeError
	Code    string `json:"code"` // CodeInvalid, CodeNotFound or CodeInternal
	Message string `json:"message"`
	ID      string `json:"id,omitempty"` // the group it is about, if any
}

// NotificationMessage pushes a notification.
type NotificationMessage struct {
	Type         string       `json:"type"` // TypeNotification
	Notification Notification `json:"notification"`
}

// Pong answers a ping.
type Pong struct {
	Type string `json:"type"` // TypePong
}

// ClientMessage is any message from the client.
type ClientMessage struct {
	Type   string   `json:"type"`
	Groups []string `json:"groups,omitempty"` // subscribe, unsubscribe
	Token  string   `json:"token,omitempty"`  // resume
	Since  *uint64  `json:"since,omitempty"`  // resume: the last results seq seen
}
