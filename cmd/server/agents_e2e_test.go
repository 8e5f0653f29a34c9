//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"pingdeck/internal/bus"
	"pingdeck/internal/ping"
	"pingdeck/internal/ping/pingtest"
	"pingdeck/internal/store"
	"pingdeck/internal/wire"
)

// agentProc is a running `pingdeck agent`.
type agentProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan error
}

// startAgent runs `pingdeck agent` in the simulator's namespace (its site) and waits
// until it runs.
func startAgent(t *testing.T, bin string, site *pingtest.Sim, server, credentials, dataDir string) *agentProc {
	t.Helper()
	a := &agentProc{t: t, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	a.cmd = exec.Command("ip", "netns", "exec", site.Name(), bin, "agent", "--server", server,
		"--credentials", credentials, "--data-dir", dataDir, "--icmp-mode", "unprivileged")
	pr, pw := io.Pipe()
	a.cmd.Stderr = pw
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	running := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			a.stderr.Write([]byte(sc.Text() + "\n"))
			var rec struct{ Msg string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "agent running" {
				select {
				case running <- struct{}{}:
				default:
				}
			}
		}
	}()
	go func() { err := a.cmd.Wait(); pw.Close(); a.exited <- err }()
	t.Cleanup(func() { a.cmd.Process.Kill() })
	select {
	case <-running:
	case err := <-a.exited:
		t.Fatalf("agent exited: %v\n%s", err, a.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("agent did not start in 30s\n%s", a.stderr)
	}
	return a
}

func (a *agentProc) stop() {
	a.t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-a.exited:
		if err != nil {
			a.t.Errorf("agent exit after SIGTERM: %v\n%s", err, a.stderr)
		}
	case <-time.After(20 * time.Second):
		a.t.Errorf("agent did not stop within 20s of SIGTERM\n%s", a.stderr)
	}
}

// e2eAgent is an agent as GET /api/v1/agents shows it.
type e2eAgent struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Location   string  `json:"location"`
	Connected  bool    `json:"connected"`
	Online     bool    `json:"online"`
	Targets    int     `json:"targets"`
	ProbesPerS float64 `json:"probes_per_s"`
	Version    *string `json:"version"`
}

// enrolAgent creates an agent through the API and writes its credential file.
func enrolAgent(t *testing.T, c *httpClient, name, location string) (e2eAgent, string) {
	t.Helper()
	var out struct {
		Agent      e2eAgent `json:"agent"`
		Credential string   `json:"credential"`
		Command    string   `json:"command"`
	}
	c.call("POST", "/api/v1/agents", map[string]string{"name": name, "location": location}, 201, &out)
	if !strings.Contains(out.Command, "pingdeck agent --server nats://") {
		t.Errorf("the command to run is %q", out.Command)
	}
	file := filepath.Join(t.TempDir(), location+".creds")
	if err := os.WriteFile(file, []byte(out.Credential), 0o600); err != nil {
		t.Fatal(err)
	}
	return out.Agent, file
}

// nsDialer dials from inside a namespace, for nats.go.
type nsDialer struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (d nsDialer) Dial(network, addr string) (net.Conn, error) {
	return d.dial(context.Background(), network, addr)
}

// TestAgentsProbeFromTheirSites runs the server and two agents, each in a site of its
// own (a namespace whose responder gives the same addresses its own delay and loss),
// and follows their results into the database, the report and the live stream; then
// cuts one site off for 60 s, revokes the other, and tries what agents must not do.
func TestAgentsProbeFromTheirSites(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about two minutes")
	}
	bin := buildPlainBinary(t)
	fraSite := pingtest.Start(t, pingtest.Options{Default: pingtest.Behavior{Delay: 5 * time.Millisecond}})
	nycSite := pingtest.Start(t, pingtest.Options{Default: pingtest.Behavior{Delay: 40 * time.Millisecond, Loss: 0.1}})
	hub := fraSite.NewPeer(t) // where the server runs
	fraLink, nycLink := fraSite.Attach(t, hub), nycSite.Attach(t, hub)
	targets := []string{"198.18.1.1", "198.18.1.2"}

	dataDir := t.TempDir()
	srv := startServerIn(t, bin, []string{"ip", "netns", "exec", hub.Name()},
		[]string{"PINGDECK_DATA_DIR=" + dataDir, "PINGDECK_ADMIN_PASSWORD=admin-password",
			"PINGDECK_ALLOW_TARGETS=127.0.0.0/8,198.18.0.0/15",
			"PINGDECK_NATS_LISTEN=0.0.0.0:4222", "PINGDECK_NATS_USER=pingdeck", "PINGDECK_NATS_PASSWORD=a-long-bus-password"},
		"--listen", "127.0.0.1:0", "--icmp-mode", "unprivileged")
	c := srv.clientVia(hub.DialContext)
	defer c.c.CloseIdleConnections()
	c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)

	_, fraCreds := enrolAgent(t, c, "frankfurt-1", "fra")
	nyc, nycCreds := enrolAgent(t, c, "new-york-1", "nyc")
	var g e2eGroup
	c.call("POST", "/api/v1/groups", map[string]any{"name": "sites", "interval": "1s",
		"targets": strings.Join(targets, "\n"), "locations": []string{"fra", "nyc"}}, 201, &g)

	ws := c.dialWS("viewer")
	fraAgent := startAgent(t, bin, fraSite, fmt.Sprintf("nats://%s:4222", fraLink.PeerAddr), fraCreds, t.TempDir())
	nycAgent := startAgent(t, bin, nycSite, fmt.Sprintf("nats://%s:4222", nycLink.PeerAddr), nycCreds, t.TempDir())

	// Both connect, report their targets and probe them.
	agents := func() map[string]e2eAgent {
		var out struct{ Agents []e2eAgent }
		c.call("GET", "/api/v1/agents", nil, 200, &out)
		by := map[string]e2eAgent{}
		for _, a := range out.Agents {
			by[a.Location] = a
		}
		return by
	}
	waitUntil(t, 20*time.Second, "both agents online with two targets each", func() bool {
		a := agents()
		return a["fra"].Online && a["fra"].Connected && a["fra"].Targets == 2 && a["nyc"].Online && a["nyc"].Targets == 2
	})

	// Live: each location's results arrive with its location and its site's delay.
	for _, loc := range []string{"fra", "nyc"} {
		f := ws.next(loc+" results", func(f *wsFrame) bool {
			return f.Type == "results" && slices.ContainsFunc(f.Items, func(it wire.Item) bool { return it.G == g.ID && it.Loc == loc && it.OK })
		})
		for _, it := range f.Items {
			if it.G != g.ID || it.Loc != loc || !it.OK {
				continue
			}
			if want := map[string]float64{"fra": 5, "nyc": 40}[loc]; *it.RTTMs < want || *it.RTTMs > want+30 {
				t.Errorf("live %s item RTT %.3f ms, want %v ms and a little more", loc, *it.RTTMs, want)
			}
		}
	}

	// An agent may not publish as another location nor read another's assignments, and
	// a server-side refusal reaches it.
	checkAgentPermissions(t, hub, fraCreds)

	start := time.Now().Add(2 * time.Second).Truncate(time.Second)
	time.Sleep(20 * time.Second)

	// fra's site loses its uplink for 60 s: the agent goes offline, keeps probing to
	// disk, and delivers everything when it is back.
	if err := fraLink.SetUp(false); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	f := ws.next("fra offline", func(f *wsFrame) bool {
		return f.Type == "locations" && slices.ContainsFunc(f.Locations, func(l wire.Location) bool { return l.Name == "fra" && !l.Online })
	})
	t.Logf("fra offline on the live stream %s after the cut: %s", time.Since(cut).Round(100*time.Millisecond), f)
	time.Sleep(time.Until(cut.Add(60 * time.Second)))
	if err := fraLink.SetUp(true); err != nil {
		t.Fatal(err)
	}
	restored := time.Now()
	ws.next("fra online again", func(f *wsFrame) bool {
		return f.Type == "locations" && slices.ContainsFunc(f.Locations, func(l wire.Location) bool { return l.Name == "fra" && l.Online })
	})
	t.Logf("fra online again %s after the link came back", time.Since(restored).Round(100*time.Millisecond))
	end := time.Now().Add(-2 * time.Second).Truncate(time.Second)
	time.Sleep(5 * time.Second) // the buffer drains
	checkReportByLocation(t, c, g.ID, start, end)
	if dropped := metricValue(c.text("/metrics"), "pingdeck_results_dropped_total"); dropped != 0 {
		t.Errorf("the server counted %v results dropped; the cut site's buffer held them all", dropped)
	}

	// The group is no longer probed from nyc: its agent drops the targets at once.
	changed := time.Now()
	c.call("PATCH", "/api/v1/groups/"+g.ID, map[string]any{"locations": []string{"fra"}}, 200, nil)
	waitUntil(t, 3*time.Second, "nyc's agent to drop the group's targets", func() bool { return agents()["nyc"].Targets == 0 })
	t.Logf("nyc's agent reported no targets %s after the change (it reports every second)", time.Since(changed).Round(10*time.Millisecond))

	// Revoked: the agent is cut off at once and its credential refused.
	before := len(nycAgent.stderr.String())
	revoked := time.Now()
	c.call("DELETE", "/api/v1/agents/"+nyc.ID, nil, 204, nil)
	waitUntil(t, time.Second, "nyc's agent disconnected within 1 s", func() bool {
		return strings.Contains(nycAgent.stderr.String()[before:], "lost the server")
	})
	t.Logf("nyc's agent disconnected %s after the revocation was asked for", time.Since(revoked).Round(10*time.Millisecond))
	waitUntil(t, 5*time.Second, "nyc's agent refused on reconnecting", func() bool {
		return strings.Contains(nycAgent.stderr.String()[before:], "refused this agent's credential")
	})
	if _, ok := agents()["nyc"]; ok {
		t.Error("a revoked agent is still listed")
	}
	if _, err := connectAs(hub, nycCreds); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("a revoked credential connected (err %v)", err)
	}
	nycAgent.stop()
	fraAgent.stop()
	srv.stop()

	// Stored: per location, per target, exactly one result per second over the whole
	// run, the 60 s cut included; each site's own delay and loss.
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dataDir, "pingdeck.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seconds := int(end.Sub(start) / time.Second)
	for _, tg := range g.Targets {
		from := start.Add(ping.Phase(tg.ID, time.Second) - 500*time.Millisecond)
		samples, err := st.Samples(context.Background(), store.SampleQuery{TargetID: tg.ID, From: from, To: from.Add(time.Duration(seconds) * time.Second), Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		answered := map[string]int{}
		low := map[string]float64{}
		for _, s := range samples {
			count[s.Location]++
			if s.OK {
				answered[s.Location]++
				if ms := float64(s.RTTUs) / 1000; low[s.Location] == 0 || ms < low[s.Location] {
					low[s.Location] = ms
				}
			}
		}
		t.Logf("%s over %d s: stored %v, answered %v, fastest %v ms", tg.Address, seconds, count, answered, low)
		if count["fra"] != seconds || answered["fra"] != seconds {
			t.Errorf("%s from fra: %d stored, %d answered over %d s (60 s of it cut off), want every second's, answered",
				tg.Address, count["fra"], answered["fra"], seconds)
		}
		if count["nyc"] != seconds {
			t.Errorf("%s from nyc: %d stored over %d s, want %d", tg.Address, count["nyc"], seconds, seconds)
		}
		if lost := count["nyc"] - answered["nyc"]; lost < seconds/10-1 || lost > seconds/10+1 {
			t.Errorf("%s from nyc: %d of %d lost, want 10 %%", tg.Address, lost, count["nyc"])
		}
		if low["fra"] < 5 || low["fra"] > 15 || low["nyc"] < 40 || low["nyc"] > 50 {
			t.Errorf("%s: fastest RTT fra %.3f ms, nyc %.3f ms; want 5 and 40 ms and a little more", tg.Address, low["fra"], low["nyc"])
		}
		if count[bus.LocalLocation] != 0 {
			t.Errorf("%s: %d results from the server's own prober, which the group does not use", tg.Address, count[bus.LocalLocation])
		}
	}
}

// connectAs connects to the server's bus (in ns) with an agent's credential.
func connectAs(ns *pingtest.Peer, credFile string) (*nats.Conn, error) {
	text, err := os.ReadFile(credFile)
	if err != nil {
		return nil, err
	}
	cred, err := bus.ParseAgentCredential(string(text))
	if err != nil {
		return nil, err
	}
	opts, err := cred.ConnectOptions()
	if err != nil {
		return nil, err
	}
	return nats.Connect("nats://127.0.0.1:4222", append(opts, nats.SetCustomDialer(nsDialer{ns.DialContext}), nats.NoReconnect())...)
}

// checkAgentPermissions: with fra's credential, publishing nyc's results and asking
// for nyc's assignments are refused by the server; fra's own assignments answer.
func checkAgentPermissions(t *testing.T, ns *pingtest.Peer, fraCreds string) {
	t.Helper()
	errs := make(chan error, 8)
	text, _ := os.ReadFile(fraCreds)
	cred, err := bus.ParseAgentCredential(string(text))
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := cred.ConnectOptions()
	nc, err := nats.Connect("nats://127.0.0.1:4222", append(opts, nats.SetCustomDialer(nsDialer{ns.DialContext}), nats.NoReconnect(),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))...)
	if err != nil {
		t.Fatalf("connecting with fra's credential: %v", err)
	}
	defer nc.Close()
	refused := func(what string) {
		t.Helper()
		select {
		case err := <-errs:
			if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
				t.Errorf("%s: %v, want a permissions violation", what, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: not refused", what)
		}
	}
	if err := nc.Publish(bus.ResultSubject("nyc", "00000000-0000-4000-8000-000000000000"), []byte(`{"source":"x","results":[]}`)); err != nil {
		t.Fatal(err)
	}
	refused("publishing as nyc")
	if _, err := bus.RequestAssignments(nc, "nyc", bus.AssignmentsRequest{}); err == nil {
		t.Error("fra read nyc's assignments")
	}
	refused("asking for nyc's assignments")
	if _, err := nc.SubscribeSync(bus.AssignmentChangedSubject("nyc")); err != nil {
		t.Fatal(err)
	}
	refused("listening to nyc's assignment changes")
	reply, err := bus.RequestAssignments(nc, "fra", bus.AssignmentsRequest{})
	if err != nil || len(reply.Groups) != 1 {
		t.Errorf("fra's own assignments: %+v, %v", reply, err)
	}
}

// checkReportByLocation: the report's per-location breakdown and its location filter
// show each site's delay and loss.
func checkReportByLocation(t *testing.T, c *httpClient, groupID string, from, to time.Time) {
	t.Helper()
	type stats = locationStats
	var rep struct {
		Summary stats `json:"summary"`
		Targets []struct {
			Address   string           `json:"address"`
			Locations map[string]stats `json:"locations"`
		} `json:"targets"`
	}
	window := to.Sub(from)
	c.call("GET", fmt.Sprintf("/api/v1/groups/%s/report?from=%d&range=%s", groupID, from.Unix(), window), nil, 200, &rep)
	for _, tg := range rep.Targets {
		fra, nyc := tg.Locations["fra"], tg.Locations["nyc"]
		t.Logf("report %s: fra %s, nyc %s", tg.Address, fra, nyc)
		if fra.LossPct == nil || *fra.LossPct != 0 || fra.RTTP50Ms == nil || *fra.RTTP50Ms < 5 || *fra.RTTP50Ms > 15 {
			t.Errorf("report %s from fra: loss %v, p50 %v; want 0 %% and 5 ms", tg.Address, fra.LossPct, fra.RTTP50Ms)
		}
		if nyc.LossPct == nil || *nyc.LossPct < 7 || *nyc.LossPct > 13 || nyc.RTTP50Ms == nil || *nyc.RTTP50Ms < 40 || *nyc.RTTP50Ms > 50 {
			t.Errorf("report %s from nyc: loss %v, p50 %v; want 10 %% and 40 ms", tg.Address, nyc.LossPct, nyc.RTTP50Ms)
		}
	}
	var only struct {
		Summary stats `json:"summary"`
	}
	c.call("GET", fmt.Sprintf("/api/v1/groups/%s/report?from=%d&range=%s&location=nyc", groupID, from.Unix(), window), nil, 200, &only)
	if only.Summary.LossPct == nil || *only.Summary.LossPct < 7 || *only.Summary.LossPct > 13 || only.Summary.Sent != rep.Summary.Sent/2 {
		t.Errorf("report ?location=nyc: %+v, want half the probes (of %d) and 10 %% loss", only.Summary, rep.Summary.Sent)
	}
}

// locationStats is a report's figures for one location.
type locationStats struct {
	Sent     int64    `json:"sent"`
	Received int64    `json:"received"`
	LossPct  *float64 `json:"loss_pct"`
	RTTP50Ms *float64 `json:"rtt_p50_ms"`
}

func (s locationStats) String() string {
	f := func(v *float64) string {
		if v == nil {
			return "null"
		}
		return fmt.Sprintf("%.3f", *v)
	}
	return fmt.Sprintf("sent %d received %d loss %s%% p50 %s ms", s.Sent, s.Received, f(s.LossPct), f(s.RTTP50Ms))
}
