package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/bus"
	"pingdeck/internal/groups"
	"pingdeck/internal/sites"
	"pingdeck/internal/store"
)

// Sites enrols and revokes agents and says where groups are probed from
// (sites.Registry).
type Sites interface {
	Enrol(ctx context.Context, name, location, by string) (store.Agent, bus.AgentCredential, error)
	Revoke(ctx context.Context, id string) error
	Agents(ctx context.Context) ([]sites.AgentView, error)
	Locations() []sites.Location
}

// agentJSON is an agent as the admin's Agents page shows it.
type agentJSON struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Location      string     `json:"location"`
	CreatedAt     time.Time  `json:"created_at"`
	Connected     bool       `json:"connected"`
	Online        bool       `json:"online"`
	LastSeen      *time.Time `json:"last_seen"`
	Version       *string    `json:"version"`
	Targets       int        `json:"targets"`
	ProbesPerS    float64    `json:"probes_per_s"`
	BufferedBytes *uint64    `json:"buffered_bytes"`
}

func agentOut(v sites.AgentView) agentJSON {
	out := agentJSON{ID: v.ID, Name: v.Name, Location: v.Location, CreatedAt: v.CreatedAt, Connected: v.Connected,
		Online: v.Online, LastSeen: v.LastSeen, Targets: v.Targets, ProbesPerS: v.ProbesPerS, BufferedBytes: v.BufferedBytes}
	if v.Version != "" {
		out.Version = &v.Version
	}
	return out
}

type agentCreateRequest struct {
	Name     string `json:"name"`
	Location string `json:"location"`
}

// handleAgentCreate enrols an agent and shows its credential, once.
func handleAgentCreate(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		if s.Sites == nil {
			return groups.Conflict("", "%s", bus.ErrAgentsNeedListener)
		}
		var req agentCreateRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		a, cred, err := s.Sites.Enrol(c.Request.Context(), req.Name, req.Location, currentUser(c).ID)
		if err != nil {
			return err
		}
		file := a.Location + ".creds"
		c.JSON(http.StatusCreated, gin.H{
			"agent":      agentOut(sites.AgentView{Agent: a}),
			"credential": cred.Text(),
			"file":       file,
			"command":    fmt.Sprintf("pingdeck agent --server %s --credentials %s", s.agentBusURL(c), file),
		})
		return nil
	})
}

// agentBusURL is where agents reach this server's bus, as the person enrolling one
// reaches the server: the listener's port on the host they typed when it listens on
// every address.
func (s *server) agentBusURL(c *gin.Context) string {
	host, port, err := net.SplitHostPort(s.AgentBus)
	if err != nil {
		return "nats://HOST:4222"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = c.Request.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	return "nats://" + net.JoinHostPort(host, port)
}

func handleAgentList(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		out := []agentJSON{}
		if s.Sites != nil {
			agents, err := s.Sites.Agents(c.Request.Context())
			if err != nil {
				return err
			}
			for _, a := range agents {
				out = append(out, agentOut(a))
			}
		}
		c.JSON(http.StatusOK, gin.H{"agents": out})
		return nil
	})
}

// handleAgentDelete revokes an agent: it is disconnected and its credential refused.
func handleAgentDelete(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		id, err := pathUUID(c, "agent_id")
		if err != nil {
			return err
		}
		if s.Sites == nil {
			return groups.NotFound("agent")
		}
		if err := s.Sites.Revoke(c.Request.Context(), id); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}

// handleLocations lists where groups can be probed from, and which are probing now.
func handleLocations(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		locs := []sites.Location{}
		if s.Sites != nil {
			locs = s.Sites.Locations()
		}
		c.JSON(http.StatusOK, gin.H{"locations": locs})
		return nil
	})
}
