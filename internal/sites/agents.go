package sites

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"pingdeck/internal/bus"
	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// AgentView is an enrolled agent as the admin sees it.
type AgentView struct {
	store.Agent
	Connected  bool       // has a connection to this server's bus now
	Online     bool       // heard from in the last OfflineAfter
	LastSeen   *time.Time // its newest status message
	Version    string     // the version it says it runs
	Targets    int        // targets it probes
	ProbesPerS float64
	// BufferedBytes: result batches waiting on its disk, as it last said.
	BufferedBytes *uint64
}

// Agents lists the enrolled agents with their status.
func (r *Registry) Agents(ctx context.Context) ([]AgentView, error) {
	agents, err := r.o.Store.Agents(ctx)
	if err != nil {
		return nil, err
	}
	now := r.o.Now()
	out := make([]AgentView, len(agents))
	r.mu.Lock()
	for i, a := range agents {
		v := AgentView{Agent: a}
		if h, ok := r.heard[a.Location]; ok {
			at := h.at.UTC()
			v.LastSeen, v.Online = &at, now.Sub(h.at) < OfflineAfter
			v.Version, v.Targets, v.ProbesPerS = h.status.Version, h.status.Targets, h.status.ProbesPerS
			buffered := h.status.BufferedBytes
			v.BufferedBytes = &buffered
		}
		out[i] = v
	}
	r.mu.Unlock()
	for i := range out {
		out[i].Connected = r.o.Bus.AgentConnected(out[i].PublicKey)
	}
	return out, nil
}

// onStatus records an agent's status message. Only the agent of a location may publish
// on its subject (bus permissions), so the subject says who it is.
func (r *Registry) onStatus(m *nats.Msg) {
	location, ok := bus.AgentLocationOf(m.Subject)
	if !ok {
		return
	}
	var st bus.AgentStatus
	if err := json.Unmarshal(m.Data, &st); err != nil {
		r.o.Logger.Warn("an agent's status message is unreadable", "location", location, "err", err)
		return
	}
	r.mu.Lock()
	_, wasHeard := r.heard[location]
	was := wasHeard && r.o.Now().Sub(r.heard[location].at) < OfflineAfter
	r.heard[location] = heard{at: r.o.Now(), status: st}
	r.mu.Unlock()
	if !was {
		r.o.Logger.Info("agent online", "location", location, "name", st.Name, "version", st.Version)
		r.notifyIfChanged()
	}
}

// onAssignments answers an agent's request for what to probe.
func (r *Registry) onAssignments(m *nats.Msg) {
	reply := r.assignments(m)
	data, _ := json.Marshal(reply)
	if err := m.Respond(data); err != nil {
		r.o.Logger.Debug("answering an agent's assignments request", "err", err)
	}
}

func (r *Registry) assignments(m *nats.Msg) bus.AssignmentsReply {
	location, ok := bus.AgentLocationOf(m.Subject)
	if !ok || !r.Accepts(location) || location == r.o.Own {
		return bus.AssignmentsReply{Error: fmt.Sprintf("no agent is enrolled for location %q", location)}
	}
	var req bus.AssignmentsRequest
	if len(m.Data) > 0 {
		if err := json.Unmarshal(m.Data, &req); err != nil {
			return bus.AssignmentsReply{Error: "request: " + err.Error()}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	source := r.o.Probed(location)
	if req.Group == "" {
		desired, err := source.ActiveTargets(ctx)
		if err != nil {
			r.o.Logger.Warn("listing an agent's targets", "location", location, "err", err)
			return bus.AssignmentsReply{Error: "the server could not read the targets; try again"}
		}
		seen := map[string]bool{}
		out := bus.AssignmentsReply{Groups: []string{}}
		for _, d := range desired {
			if !seen[d.GroupID] {
				seen[d.GroupID] = true
				out.Groups = append(out.Groups, d.GroupID)
			}
		}
		return out
	}
	desired, err := source.ActiveTargetsOfGroup(ctx, req.Group)
	if err != nil {
		r.o.Logger.Warn("listing an agent's targets", "location", location, "group", req.Group, "err", err)
		return bus.AssignmentsReply{Error: "the server could not read the targets; try again"}
	}
	return bus.AssignmentsReply{Targets: assignmentsOf(desired)}
}

func assignmentsOf(desired []ping.Desired) []bus.Assignment {
	out := make([]bus.Assignment, len(desired))
	for i, d := range desired {
		a := bus.Assignment{ID: d.ID, Group: d.GroupID, Address: d.Address,
			IntervalMs: d.Interval.Milliseconds(), TimeoutMs: d.Timeout.Milliseconds(), Size: d.Size}
		if d.Addr.IsValid() {
			a.IP = d.Addr.String()
		}
		out[i] = a
	}
	return out
}

var _ groups.Subscriber = (*Registry)(nil)

// HandleChange tells every agent that a group changed, so that those probing it (or
// now meant to) ask for its targets again. Agents are few; each asks only for the group.
func (r *Registry) HandleChange(c groups.Change) {
	var ids []string
	switch c.Kind {
	case groups.ChangeGroupCreated, groups.ChangeGroupUpdated, groups.ChangeTargets, groups.ChangeGroupDeleted:
		ids = []string{c.GroupID}
	case groups.ChangeUserDeleted:
		ids = c.GroupIDs
	default:
		return
	}
	r.cache.forget(ids) // before the agents hear of it and report under the new assignment
	r.mu.Lock()
	locations := make([]string, len(r.agents))
	for i, a := range r.agents {
		locations[i] = a.Location
	}
	r.mu.Unlock()
	nc := r.o.Bus.Conn()
	for _, id := range ids {
		data, _ := json.Marshal(bus.AssignmentChange{Group: id})
		for _, loc := range locations {
			if err := nc.Publish(bus.AssignmentChangedSubject(loc), data); err != nil {
				r.o.Logger.Warn("telling an agent of a change", "location", loc, "err", err)
			}
		}
	}
}
