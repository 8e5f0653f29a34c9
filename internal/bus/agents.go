package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Agents (DESIGN §9) connect to the embedded server's listener with an nkey of their own
// and may publish only their location's results and read only their location's
// assignments. Their subjects, besides the results:
//
//	pingdeck.v1.agents.<location>.assignments  request: what to probe (AssignmentsRequest → AssignmentsReply)
//	pingdeck.v1.agents.<location>.changed      server → agent: a group's assignment changed (AssignmentChange)
//	pingdeck.v1.agents.<location>.status       agent → servers, every second: AgentStatus
const agentSubjectPrefix = "pingdeck.v1.agents."

// AssignmentsSubject is where the agent of location asks what to probe.
func AssignmentsSubject(location string) string {
	return agentSubjectPrefix + location + ".assignments"
}

// AssignmentChangedSubject is where the agent of location hears that a group changed.
func AssignmentChangedSubject(location string) string {
	return agentSubjectPrefix + location + ".changed"
}

// AgentStatusSubject is where the agent of location says how it is.
func AgentStatusSubject(location string) string {
	return agentSubjectPrefix + location + ".status"
}

// AgentInboxPrefix is the inbox prefix of the agent of location: the only replies it
// may read (its requests' and its JetStream publishes' acknowledgements).
func AgentInboxPrefix(location string) string {
	return "_INBOX_agents." + location
}

// AgentKey is an enrolled agent's identity on the bus: its public nkey and location.
type AgentKey struct {
	PublicKey string
	Location  string
}

// agentPermissions lets an agent publish only its own location's results, requests and
// status, and read only its own assignment notices and replies.
func agentPermissions(location string) *server.Permissions {
	own := agentSubjectPrefix + location
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			resultSubjectPrefix + location + ".>", own + ".assignments", own + ".status", HelloSubject,
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{
			own + ".changed", AgentInboxPrefix(location) + ".>",
		}},
	}
}

// ErrAgentsNeedListener: agents connect to the embedded server's listener, so a bus
// that is not embedded or not listening cannot take them.
var ErrAgentsNeedListener = errors.New("agents connect to the embedded NATS server's listener: start the server with --nats-listen (and without --nats-url)")

// TakesAgents says why agents cannot connect to this bus, if they cannot.
func (b *Bus) TakesAgents() error {
	if b.server == nil || !b.listening {
		return ErrAgentsNeedListener
	}
	return nil
}

// SetAgents makes exactly these agents able to connect: the server's options are
// reloaded, so an agent no longer among them is disconnected at once and refused from
// then on.
func (b *Bus) SetAgents(keys []AgentKey) error {
	if err := b.TakesAgents(); err != nil {
		return err
	}
	b.agentsMu.Lock()
	defer b.agentsMu.Unlock()
	opts := b.baseOpts.Clone()
	for _, k := range keys {
		if !validToken(k.Location) {
			return fmt.Errorf("bus: agent location %q cannot be a subject token", k.Location)
		}
		opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: k.PublicKey, Permissions: agentPermissions(k.Location)})
	}
	if err := b.server.ReloadOptions(opts); err != nil {
		return fmt.Errorf("bus: applying the agents' credentials: %w", err)
	}
	return nil
}

// AgentConnected says whether an agent with this public key is connected now.
func (b *Bus) AgentConnected(publicKey string) bool {
	if b.server == nil {
		return false
	}
	c, err := b.server.Connz(&server.ConnzOptions{Username: true, User: publicKey, Limit: 1})
	return err == nil && len(c.Conns) > 0
}

// AssignmentsRequest asks for the groups to probe (Group empty) or one group's targets.
type AssignmentsRequest struct {
	Group string `json:"group,omitempty"`
}

// Assignment is one target an agent probes.
type Assignment struct {
	ID         string `json:"id"`
	Group      string `json:"group"`
	Address    string `json:"address"`      // as the user entered it
	IP         string `json:"ip,omitempty"` // what the server resolved it to, if a name
	IntervalMs int64  `json:"interval_ms"`
	TimeoutMs  int64  `json:"timeout_ms"`
	Size       int    `json:"size"`
}

// AssignmentsReply answers an AssignmentsRequest: the groups, or the group's targets
// (none when it is no longer probed from the location), or why not.
type AssignmentsReply struct {
	Groups  []string     `json:"groups,omitempty"`
	Targets []Assignment `json:"targets,omitempty"`
	Error   string       `json:"error,omitempty"`
}

// AssignmentChange says a group's targets or settings changed for the location.
type AssignmentChange struct {
	Group string `json:"group"`
}

// AgentStatus is what an agent says of itself every second.
type AgentStatus struct {
	Name       string  `json:"name"`
	Version    string  `json:"version"`
	Protocol   int     `json:"protocol"`
	Targets    int     `json:"targets"`
	ProbesPerS float64 `json:"probes_per_s"`
	// BufferedBatches and BufferedBytes are the result batches waiting on the agent's
	// disk for the server to take them.
	BufferedBatches uint64 `json:"buffered_batches"`
	BufferedBytes   uint64 `json:"buffered_bytes"`
}

// agentRequestTimeout bounds an agent's request to the servers.
const agentRequestTimeout = 5 * time.Second

// RequestAssignments asks the servers what the agent of location probes.
func RequestAssignments(nc *nats.Conn, location string, req AssignmentsRequest) (AssignmentsReply, error) {
	data, _ := json.Marshal(req)
	m, err := nc.Request(AssignmentsSubject(location), data, agentRequestTimeout)
	if err != nil {
		return AssignmentsReply{}, fmt.Errorf("bus: asking for assignments: %w", err)
	}
	var r AssignmentsReply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		return AssignmentsReply{}, fmt.Errorf("bus: unreadable assignments: %w", err)
	}
	if r.Error != "" {
		return AssignmentsReply{}, fmt.Errorf("bus: assignments refused: %s", r.Error)
	}
	return r, nil
}

// AgentLocationOf is the location in an agent subject (pingdeck.v1.agents.<location>.…).
func AgentLocationOf(subject string) (string, bool) {
	rest, ok := strings.CutPrefix(subject, agentSubjectPrefix)
	if !ok {
		return "", false
	}
	location, _, ok := strings.Cut(rest, ".")
	return location, ok && validToken(location)
}
