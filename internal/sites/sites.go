// Package sites knows where groups are probed from (DESIGN §9): the server's own prober
// and the enrolled agents. It enrols and revokes agents (their bus credentials), tracks
// which are online from the status they publish every second, answers their requests
// for assignments and tells them at once when a group they probe changes.
package sites

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
	"unicode"

	"github.com/google/uuid"

	"pingdeck/internal/bus"
	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
	"pingdeck/internal/wire"
)

// OfflineAfter is how long an agent may be silent before its location is offline: its
// cells say so and what it did not probe is not probed, never lost.
const OfflineAfter = 10 * time.Second

// Store keeps the enrolled agents.
type Store interface {
	CreateAgent(ctx context.Context, a *store.Agent) error
	Agents(ctx context.Context) ([]store.Agent, error)
	DeleteAgent(ctx context.Context, id string) (store.Agent, error)
	GroupAssignment(ctx context.Context, groupID string) (store.Assignment, error)
}

// Options wire a Registry.
type Options struct {
	Own   string // the server's own location (--location)
	Store Store
	Bus   *bus.Bus
	// Probed lists the targets probed from a location (store.ProbedFrom).
	Probed func(location string) ping.Source
	Logger *slog.Logger
	Now    func() time.Time // the clock; time.Now when nil
}

// Location is one place groups can be probed from, and whether it is probing now.
type Location = wire.Location

// Registry is the server's view of its locations. Start it, then Run it.
type Registry struct {
	o         Options
	reloading sync.Mutex
	cache     assignmentCache

	mu       sync.Mutex
	agents   []store.Agent           // enrolled, by name
	heard    map[string]heard        // by location: the newest status and when
	online   map[string]bool         // by location, as last told to watchers
	watchers []func(locs []Location) // told whenever a location goes on- or offline
	subs     []interface{ Unsubscribe() error }
}

// heard is an agent's newest status message.
type heard struct {
	at     time.Time
	status bus.AgentStatus
}

// New returns a registry; Start loads the agents and opens the bus to them.
func New(o Options) *Registry {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Registry{o: o, heard: map[string]heard{}, online: map[string]bool{}}
}

// Start loads the enrolled agents, gives their keys to the bus, and starts answering
// their status messages and assignment requests.
func (r *Registry) Start(ctx context.Context) error {
	agents, err := r.o.Store.Agents(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.agents = agents
	r.mu.Unlock()
	if err := r.applyKeys(); err != nil {
		if len(agents) == 0 {
			r.o.Logger.Debug("agents cannot connect", "reason", err)
		} else {
			r.o.Logger.Warn("enrolled agents cannot connect", "agents", len(agents), "reason", err)
		}
	}
	nc := r.o.Bus.Conn()
	status, err := nc.Subscribe(bus.AgentStatusSubject("*"), r.onStatus)
	if err != nil {
		return fmt.Errorf("sites: agent status: %w", err)
	}
	assignments, err := nc.QueueSubscribe(bus.AssignmentsSubject("*"), "pingdeck-servers", r.onAssignments)
	if err != nil {
		_ = status.Unsubscribe()
		return fmt.Errorf("sites: assignments: %w", err)
	}
	r.subs = append(r.subs, status, assignments)
	return nil
}

// Run watches for agents going silent until ctx ends, then stops answering.
func (r *Registry) Run(ctx context.Context) {
	defer func() {
		for _, s := range r.subs {
			_ = s.Unsubscribe()
		}
	}()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.notifyIfChanged()
		}
	}
}

// Watch registers f to be told the locations whenever one goes online or offline.
func (r *Registry) Watch(f func(locs []Location)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watchers = append(r.watchers, f)
}

// Own is the server's own location.
func (r *Registry) Own() string { return r.o.Own }

// Known lists the locations groups can be probed from: the server's own, then the
// agents'.
func (r *Registry) Known(context.Context) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []string{r.o.Own}
	for _, a := range r.agents {
		out = append(out, a.Location)
	}
	return out, nil
}

// Accepts says whether results from location are stored: the server's own and those
// of enrolled agents.
func (r *Registry) Accepts(location string) bool {
	if location == r.o.Own {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.agents, func(a store.Agent) bool { return a.Location == location })
}

// Locations lists every location with whether it is probing now.
func (r *Registry) Locations() []Location {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.locationsLocked(r.o.Now())
}

func (r *Registry) locationsLocked(now time.Time) []Location {
	out := []Location{{Name: r.o.Own, Kind: wire.LocationServer, Online: true}}
	for _, a := range r.agents {
		l := Location{Name: a.Location, Kind: wire.LocationAgent, Agent: a.Name}
		if h, ok := r.heard[a.Location]; ok {
			at := h.at.UTC()
			l.LastSeen = &at
			l.Online = now.Sub(h.at) < OfflineAfter
		}
		out = append(out, l)
	}
	return out
}

// notifyIfChanged tells the watchers when a location went online or offline.
func (r *Registry) notifyIfChanged() {
	r.mu.Lock()
	locs := r.locationsLocked(r.o.Now())
	changed := len(locs) != len(r.online)
	online := make(map[string]bool, len(locs))
	for _, l := range locs {
		online[l.Name] = l.Online
		if was, ok := r.online[l.Name]; !ok || was != l.Online {
			changed = true
		}
	}
	r.online = online
	watchers := slices.Clone(r.watchers)
	r.mu.Unlock()
	if !changed {
		return
	}
	for _, w := range watchers {
		w(locs)
	}
}

// maxAgentName bounds an agent's name in bytes.
const maxAgentName = 64

// Enrol creates an agent probing from location and returns its credential, which is
// not kept: only its public key is.
func (r *Registry) Enrol(ctx context.Context, name, location, by string) (store.Agent, bus.AgentCredential, error) {
	switch {
	case name == "" || len(name) > maxAgentName:
		return store.Agent{}, bus.AgentCredential{}, groups.Invalid("name", "must be 1 to %d bytes", maxAgentName)
	case slices.ContainsFunc([]rune(name), unicode.IsControl):
		return store.Agent{}, bus.AgentCredential{}, groups.Invalid("name", "must not contain control characters")
	case !groups.ValidLocation(location):
		return store.Agent{}, bus.AgentCredential{}, groups.CheckLocation("location", location)
	case location == r.o.Own:
		return store.Agent{}, bus.AgentCredential{}, groups.Conflict("location", "%q is the server's own location", location)
	}
	if err := r.o.Bus.TakesAgents(); err != nil {
		return store.Agent{}, bus.AgentCredential{}, groups.Conflict("", "%s", err)
	}
	cred, pub, err := bus.NewAgentCredential(name, location)
	if err != nil {
		return store.Agent{}, bus.AgentCredential{}, err
	}
	a := store.Agent{ID: uuid.NewString(), Name: name, Location: location, PublicKey: pub, CreatedAt: r.o.Now().UTC()}
	if by != "" {
		a.CreatedBy = &by
	}
	if err := r.o.Store.CreateAgent(ctx, &a); err != nil {
		return store.Agent{}, bus.AgentCredential{}, fmt.Errorf("%w (an agent's name and location must be unused)", err)
	}
	if err := r.reload(ctx); err != nil {
		return store.Agent{}, bus.AgentCredential{}, err
	}
	return a, cred, nil
}

// Revoke deletes an agent: it is disconnected at once and its credential refused.
func (r *Registry) Revoke(ctx context.Context, id string) error {
	if _, err := r.o.Store.DeleteAgent(ctx, id); err != nil {
		return err
	}
	return r.reload(ctx)
}

// reload reads the agents again and gives their keys to the bus, one reload at a time
// so that the newest list is the one applied.
func (r *Registry) reload(ctx context.Context) error {
	r.reloading.Lock()
	defer r.reloading.Unlock()
	agents, err := r.o.Store.Agents(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.agents = agents
	r.mu.Unlock()
	err = r.applyKeys()
	r.notifyIfChanged()
	return err
}

// applyKeys gives the bus the enrolled agents' keys (serialised by the bus).
func (r *Registry) applyKeys() error {
	r.mu.Lock()
	keys := make([]bus.AgentKey, len(r.agents))
	for i, a := range r.agents {
		keys[i] = bus.AgentKey{PublicKey: a.PublicKey, Location: a.Location}
	}
	r.mu.Unlock()
	return r.o.Bus.SetAgents(keys)
}
