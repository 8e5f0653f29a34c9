package livetest

import "pingdeck/internal/wire"

// Message is any message of the server, decoded: the fields of every type at once,
// each as the wire package has it (PROTOCOL.md). Raw is the message as it came.
type Message struct {
	Type         string             `json:"type"`
	Seq          uint64             `json:"seq"`   // results, hello
	Items        []wire.Item        `json:"items"` // results
	Group        *wire.LiveGroup    `json:"group"` // snapshot, group_updated
	ID           string             `json:"id"`    // group_deleted, access_revoked, error
	Code         string             `json:"code"`  // error
	Message      string             `json:"message"`
	User         *wire.Identity     `json:"user"` // hello
	ServerTime   string             `json:"server_time"`
	ResumeToken  string             `json:"resume_token"`
	Notification *wire.Notification `json:"notification"`
	Location     string             `json:"location"`  // hello: the server's own
	Locations    []wire.Location    `json:"locations"` // locations
	Raw          []byte             `json:"-"`
}

// String is the message as it came, for failure messages.
func (m Message) String() string { return string(m.Raw) }
