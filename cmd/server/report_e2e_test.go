//go:build linux

package main

import (
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"

	"pingdeck/internal/ping/pingtest"
)

type e2eStats struct {
	Sent        int64    `json:"sent"`
	Received    int64    `json:"received"`
	SuccessRate *float64 `json:"success_rate"`
	LossPct     *float64 `json:"loss_pct"`
	RTTAvgMs    *float64 `json:"rtt_avg_ms"`
	RTTP50Ms    *float64 `json:"rtt_p50_ms"`
}

func (s e2eStats) String() string {
	f := func(v *float64) string {
		if v == nil {
			return "null"
		}
		return fmt.Sprintf("%.3f", *v)
	}
	return fmt.Sprintf("sent %d received %d success %s loss %s%% avg %s ms p50 %s ms",
		s.Sent, s.Received, f(s.SuccessRate), f(s.LossPct), f(s.RTTAvgMs), f(s.RTTP50Ms))
}

// TestReportReadsBackTheSimulator probes simulated targets with known delay, loss and
// silence with the real binary, and asks the report endpoint what it saw.
func TestReportReadsBackTheSimulator(t *testing.T) {
	delayed, lossy, silent, quick := netip.MustParseAddr("198.18.0.10"), netip.MustParseAddr("198.18.0.11"),
		netip.MustParseAddr("198.18.0.12"), netip.MustParseAddr("198.18.0.13")
	if !pingtest.InChild() {
		bin := buildBinary(t)
		sim := pingtest.Start(t, pingtest.Options{})
		sim.Set(delayed, pingtest.Behavior{Delay: 20 * time.Millisecond})
		sim.Set(lossy, pingtest.Behavior{Loss: 0.25})
		sim.Set(silent, pingtest.Behavior{Silent: true})
		sim.RunChild(t, e2eBinaryEnv+"="+bin)
		return
	}
	srv := startServer(t, []string{"PINGDECK_DATA_DIR=" + t.TempDir(), "PINGDECK_ADMIN_PASSWORD=admin-password",
		"PINGDECK_ALLOW_TARGETS=198.18.0.0/15"}, "--listen", "127.0.0.1:0")
	c := srv.client()
	c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
	var g e2eGroup
	c.call("POST", "/api/v1/groups", map[string]any{"name": "sim", "interval": "200ms", "timeout": "500ms",
		"targets": fmt.Sprintf("%s %s %s %s", delayed, lossy, silent, quick)}, 201, &g)
	from := time.Now().Add(2 * time.Second).Truncate(time.Second)
	const window = 10 * time.Second // 50 probes a target at 5 Hz
	// Wait for the window to end, the silent probes to time out and the writer to flush.
	time.Sleep(time.Until(from.Add(window + 2*time.Second)))

	var rep struct {
		Summary e2eStats `json:"summary"`
		Targets []struct {
			Address string `json:"address"`
			e2eStats
		} `json:"targets"`
	}
	c.call("GET", fmt.Sprintf("/api/v1/groups/%s/report?from=%d&range=%s", g.ID, from.Unix(), window), nil, 200, &rep)
	by := map[string]e2eStats{}
	for _, tg := range rep.Targets {
		by[tg.Address] = tg.e2eStats
		t.Logf("%s: %s", tg.Address, tg.e2eStats)
		if tg.Sent < 48 || tg.Sent > 52 {
			t.Errorf("%s: %d probes counted in 10 s at 5 Hz, want 50 ± 2", tg.Address, tg.Sent)
		}
	}
	// The median within 1 ms, as in the engine's own simulator test; the mean only
	// roughly, since a loaded machine adds late outliers to it.
	if d := by[delayed.String()]; d.Received != d.Sent || d.RTTP50Ms == nil || math.Abs(*d.RTTP50Ms-20) > 1 || *d.RTTAvgMs < 20 || *d.RTTAvgMs > 25 {
		t.Errorf("20 ms target: %s, want every probe answered, p50 20 ± 1 ms", d)
	}
	if l := by[lossy.String()]; l.LossPct == nil || *l.LossPct < 20 || *l.LossPct > 30 {
		t.Errorf("25 %% loss target: %s, want loss 25 ± 5 %%", l)
	}
	if s := by[silent.String()]; s.SuccessRate == nil || *s.SuccessRate != 0 || s.RTTAvgMs != nil {
		t.Errorf("silent target: %s, want success 0 and no RTT", s)
	}
	if q := by[quick.String()]; q.Received != q.Sent || *q.RTTAvgMs > 5 {
		t.Errorf("answering target: %s", q)
	}
	var sum int64
	for _, s := range by {
		sum += s.Received
	}
	if rep.Summary.Received != sum {
		t.Errorf("summary received %d, targets add up to %d", rep.Summary.Received, sum)
	}

	// Prune, dry run: only the silent target never answered.
	var pruned struct {
		Targets []struct {
			Address string `json:"address"`
		} `json:"targets"`
	}
	c.call("POST", "/api/v1/groups/"+g.ID+"/prune", map[string]any{"action": "remove", "window": "10s", "dry_run": true}, 200, &pruned)
	if len(pruned.Targets) != 1 || pruned.Targets[0].Address != silent.String() {
		t.Errorf("prune would remove %+v, want only %s", pruned.Targets, silent)
	}
	srv.stop()
}
