package api_test

import (
	"slices"
	"strings"
	"testing"
)

type agentOut struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Location  string  `json:"location"`
	Connected bool    `json:"connected"`
	Online    bool    `json:"online"`
	Version   *string `json:"version"`
}

type locationOut struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Agent  string `json:"agent"`
	Online bool   `json:"online"`
}

func TestAgentsEnrolAndRevoke(t *testing.T) {
	eachEnv(t, options{sites: true}, func(t *testing.T, e *env) {
		admin, alice := e.login("admin"), e.user("alice")
		locations := func() []locationOut {
			var out struct{ Locations []locationOut }
			alice.mustJSON("GET", "/api/v1/locations", nil, 200, &out)
			return out.Locations
		}
		if got := locations(); len(got) != 1 || got[0] != (locationOut{Name: "local", Kind: "server", Online: true}) {
			t.Fatalf("locations before any agent: %+v", got)
		}
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "g"}, 201, &g)
		alice.mustError("PATCH", "/api/v1/groups/"+g.ID, map[string]any{"locations": []string{"fra"}}, 400, "invalid", "locations")

		// Only administrators enrol, list and revoke.
		alice.mustError("POST", "/api/v1/agents", map[string]any{"name": "fra-1", "location": "fra"}, 403, "forbidden", "")
		alice.mustError("GET", "/api/v1/agents", nil, 403, "forbidden", "")

		// Bad input names the field and changes nothing.
		admin.mustError("POST", "/api/v1/agents", map[string]any{"name": "", "location": "fra"}, 400, "invalid", "name")
		admin.mustError("POST", "/api/v1/agents", map[string]any{"name": strings.Repeat("x", 65), "location": "fra"}, 400, "invalid", "name")
		admin.mustError("POST", "/api/v1/agents", map[string]any{"name": "a\x01b", "location": "fra"}, 400, "invalid", "name")
		admin.mustError("POST", "/api/v1/agents", map[string]any{"name": "fra-1", "location": "Frankfurt"}, 400, "invalid", "location")
		admin.mustError("POST", "/api/v1/agents", map[string]any{"name": "fra-1", "location": "a.b"}, 400, "invalid", "location")
		admin.mustError("POST", "/api/v1/agents", map[string]any{"name": "fra-1", "location": "local"}, 409, "conflict", "location")
		admin.mustError("POST", "/api/v1/agents", map[string]any{"name": "fra-1", "location": "fra", "seed": "x"}, 400, "invalid", "")
		var none struct{ Agents []agentOut }
		admin.mustJSON("GET", "/api/v1/agents", nil, 200, &none)
		if len(none.Agents) != 0 {
			t.Fatalf("bad requests enrolled %+v", none.Agents)
		}

		var created struct {
			Agent      agentOut
			Credential string
			File       string
			Command    string
		}
		admin.mustJSON("POST", "/api/v1/agents", map[string]any{"name": "fra-1", "location": "fra"}, 201, &created)
		if created.Agent.Location != "fra" || created.Agent.Connected || created.Agent.Online || created.Agent.Version != nil ||
			!strings.Contains(created.Credential, "location: fra") || !strings.Contains(created.Credential, "seed: SU") ||
			created.File != "fra.creds" || !strings.HasPrefix(created.Command, "pingdeck agent --server nats://") {
			t.Fatalf("enrolled %+v", created)
		}
		admin.mustError("POST", "/api/v1/agents", map[string]any{"name": "fra-1", "location": "ams"}, 409, "conflict", "")
		admin.mustError("POST", "/api/v1/agents", map[string]any{"name": "fra-2", "location": "fra"}, 409, "conflict", "")

		// The credential is never shown again.
		var list struct{ Agents []agentOut }
		_, raw, _ := admin.do("GET", "/api/v1/agents", nil)
		if strings.Contains(string(raw), "seed") || strings.Contains(string(raw), "SU") {
			t.Fatalf("the agent list shows the credential: %s", raw)
		}
		admin.mustJSON("GET", "/api/v1/agents", nil, 200, &list)
		if len(list.Agents) != 1 || list.Agents[0].ID != created.Agent.ID {
			t.Fatalf("agents %+v", list.Agents)
		}

		// Its location is known: groups may be probed from it.
		if got := locations(); len(got) != 2 || got[1] != (locationOut{Name: "fra", Kind: "agent", Agent: "fra-1"}) {
			t.Fatalf("locations after enrolling: %+v", got)
		}
		var patched group
		alice.mustJSON("PATCH", "/api/v1/groups/"+g.ID, map[string]any{"locations": []string{"local", "fra"}}, 200, &patched)
		if !slices.Equal(patched.Locations, []string{"local", "fra"}) {
			t.Fatalf("patched locations %v", patched.Locations)
		}

		admin.mustError("DELETE", "/api/v1/agents/nope", nil, 400, "invalid", "agent_id")
		admin.mustJSON("DELETE", "/api/v1/agents/"+created.Agent.ID, nil, 204, nil)
		admin.mustError("DELETE", "/api/v1/agents/"+created.Agent.ID, nil, 404, "not_found", "")
		if got := locations(); len(got) != 1 {
			t.Fatalf("locations after revoking: %+v", got)
		}
	})
}

func TestAgentsNeedTheBusListener(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		err := e.login("admin").mustError("POST", "/api/v1/agents", map[string]any{"name": "fra-1", "location": "fra"}, 409, "conflict", "")
		if !strings.Contains(err.Error.Message, "--nats-listen") {
			t.Errorf("the refusal does not say what to do: %q", err.Error.Message)
		}
	})
}
