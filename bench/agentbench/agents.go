//go:build linux

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"pingdeck/bench/internal/instance"
	"pingdeck/bench/internal/storedonce"
)

// site is one location: its agent, enrolled with the server, and the groups probed
// from it.
type site struct {
	location string
	credFile string
	groups   []instance.Group
	targets  []storedonce.Target

	agent        *instance.Process // once started
	engine, mode string            // the agent's, as it logged them
}

// siteName is the i-th site's location (and, with a prefix, its agent's name).
func siteName(i int) string { return fmt.Sprintf("site-%d", i+1) }

// enrol creates the site's agent through the API and saves its credential file in dir.
func enrol(ctx context.Context, c *instance.Client, dir, location string) (string, error) {
	var out struct {
		Credential string `json:"credential"`
	}
	body := map[string]string{"name": "agentbench-" + location, "location": location}
	if err := c.Call(ctx, "POST", "/api/v1/agents", body, http.StatusCreated, &out); err != nil {
		return "", err
	}
	file := filepath.Join(dir, location+".creds")
	return file, os.WriteFile(file, []byte(out.Credential), 0o600)
}

// agentStartWait bounds how long an agent may take to open its buffer and connect.
const agentStartWait = 60 * time.Second

// startAgent runs `pingdeck agent` for the site, its buffer under dir, and waits until
// it runs; it records the engine it logged.
func (s *site) startAgent(ctx context.Context, bin, dir, busURL string, o options) error {
	p, _, err := instance.Start(ctx, instance.Spec{
		Name: "agent " + s.location, Bin: bin, Env: instance.Env(os.Environ()),
		Args: []string{"agent", "--server", busURL, "--credentials", s.credFile,
			"--data-dir", filepath.Join(dir, "agent-"+s.location), "--ping-engine", o.engine},
		LogPath: filepath.Join(dir, "agent-"+s.location+".log"),
		Ready: func(line string) (string, bool) {
			_, ok := instance.LogField(line, "agent running", "location")
			return "", ok
		},
		ReadyTimeout: agentStartWait,
	})
	if err != nil {
		return err
	}
	s.agent = p
	ready := func(field string) string {
		v, _ := p.FindInLog(func(line string) (string, bool) { return instance.LogField(line, "probe engine ready", field) })
		return v
	}
	s.engine, s.mode = ready("engine"), ready("icmp_mode")
	return nil
}

// agentView is an agent as GET /api/v1/agents shows it.
type agentView struct {
	Location      string  `json:"location"`
	Online        bool    `json:"online"`
	Targets       int     `json:"targets"`
	BufferedBytes *uint64 `json:"buffered_bytes"`
}

// agentViews are the server's agents by location.
func agentViews(ctx context.Context, c *instance.Client) (map[string]agentView, error) {
	var out struct{ Agents []agentView }
	if err := c.Call(ctx, "GET", "/api/v1/agents", nil, http.StatusOK, &out); err != nil {
		return nil, err
	}
	by := make(map[string]agentView, len(out.Agents))
	for _, a := range out.Agents {
		by[a.Location] = a
	}
	return by, nil
}

// assignedWait bounds how long agents may take to be online with all their targets.
const assignedWait = 2 * time.Minute

// waitAssigned waits until every site's agent is online and says it probes all of the
// site's targets.
func waitAssigned(ctx context.Context, c *instance.Client, srv *instance.Process, sites []*site) error {
	deadline := time.Now().Add(assignedWait)
	for {
		views, err := agentViews(ctx, c)
		if err != nil {
			return err
		}
		waiting := slices.IndexFunc(sites, func(s *site) bool {
			v := views[s.location]
			return !v.Online || v.Targets != len(s.targets)
		})
		if waiting < 0 {
			return nil
		}
		if time.Now().After(deadline) {
			s, v := sites[waiting], views[sites[waiting].location]
			return fmt.Errorf("agent %s: online %v with %d targets after %s, want %d; its log ends:\n%s",
				s.location, v.Online, v.Targets, assignedWait, len(s.targets), s.agent.LogTail(20))
		}
		if err := srv.Sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
}

// bufferedBytes is what waits on the sites' agents' disks, as they last said.
func bufferedBytes(views map[string]agentView, sites []*site) uint64 {
	var n uint64
	for _, s := range sites {
		if b := views[s.location].BufferedBytes; b != nil {
			n += *b
		}
	}
	return n
}
