package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Versions are negotiated on an unversioned subject: an agent (or a replica) asks
// HelloSubject which bus protocol the servers speak before it publishes, and a server
// that does not speak any version the agent does refuses it, saying which to upgrade.
const (
	HelloSubject = "pingdeck.hello"
	// ProtocolVersion is the bus protocol this build speaks: the v1 of pingdeck.v1.….
	ProtocolVersion = 1
	// helloQueue makes one server of a cluster answer each hello.
	helloQueue = "pingdeck-servers"
)

// Hello is what a client of the bus says when it connects.
type Hello struct {
	Name     string `json:"name"`     // the agent's or replica's name, for the log
	Versions []int  `json:"versions"` // the bus protocol versions it speaks
}

// HelloReply is the server's answer: OK with the version to use, or why not.
type HelloReply struct {
	OK      bool   `json:"ok"`
	Version int    `json:"version,omitempty"`
	Error   string `json:"error,omitempty"`
}

// answerHello is the reply to a hello's payload.
func answerHello(data []byte) HelloReply {
	var h Hello
	if err := json.Unmarshal(data, &h); err != nil {
		return HelloReply{Error: fmt.Sprintf("hello: not a JSON {\"name\", \"versions\"} object: %v", err)}
	}
	if slices.Contains(h.Versions, ProtocolVersion) {
		return HelloReply{OK: true, Version: ProtocolVersion}
	}
	spoken := make([]string, len(h.Versions))
	for i, v := range h.Versions {
		spoken[i] = fmt.Sprintf("v%d", v)
	}
	advice := "upgrade the agent"
	if len(h.Versions) > 0 && slices.Max(h.Versions) > ProtocolVersion {
		advice = "upgrade the server"
	}
	if len(spoken) == 0 {
		spoken = []string{"no version"}
	}
	return HelloReply{Error: fmt.Sprintf("this server speaks bus protocol v%d; %q speaks %s: %s",
		ProtocolVersion, h.Name, strings.Join(spoken, ", "), advice)}
}

// HelloResponder answers hellos until Stop.
type HelloResponder struct{ sub *nats.Subscription }

// AnswerHellos starts answering hellos (one server of those on the bus answers each).
func (b *Bus) AnswerHellos() (*HelloResponder, error) {
	sub, err := b.nc.QueueSubscribe(HelloSubject, helloQueue, func(m *nats.Msg) {
		reply := answerHello(m.Data)
		if !reply.OK {
			b.log.Warn("bus: refused a client speaking another protocol version", "reason", reply.Error)
		}
		data, _ := json.Marshal(reply)
		if err := m.Respond(data); err != nil {
			b.log.Debug("bus: answering a hello", "err", err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("bus: answer hellos: %w", err)
	}
	return &HelloResponder{sub: sub}, nil
}

// Stop stops answering.
func (r *HelloResponder) Stop() error { return r.sub.Unsubscribe() }

// ErrRefused: the server does not speak any protocol version the client does.
var ErrRefused = errors.New("refused")

// Greet says hello on nc with versions and returns the answer: an error when no server
// answers or the server refuses (its reason is the error).
func Greet(nc *nats.Conn, name string, versions []int, timeout time.Duration) (int, error) {
	data, _ := json.Marshal(Hello{Name: name, Versions: versions})
	m, err := nc.Request(HelloSubject, data, timeout)
	if err != nil {
		return 0, fmt.Errorf("bus: no pingdeck server answered on %s: %w", HelloSubject, err)
	}
	var r HelloReply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		return 0, fmt.Errorf("bus: unreadable answer to hello: %w", err)
	}
	if !r.OK {
		return 0, fmt.Errorf("bus: %w: %s", ErrRefused, r.Error)
	}
	return r.Version, nil
}
