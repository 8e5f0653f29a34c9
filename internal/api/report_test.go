package api_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"pingdeck/internal/ping"
)

type reportStats struct {
	Sent        int64    `json:"sent"`
	Received    int64    `json:"received"`
	Errors      int64    `json:"errors"`
	SuccessRate *float64 `json:"success_rate"`
	LossPct     *float64 `json:"loss_pct"`
	RTTMinMs    *float64 `json:"rtt_min_ms"`
	RTTAvgMs    *float64 `json:"rtt_avg_ms"`
	RTTMaxMs    *float64 `json:"rtt_max_ms"`
	RTTP50Ms    *float64 `json:"rtt_p50_ms"`
	RTTP99Ms    *float64 `json:"rtt_p99_ms"`
	RTTStddevMs *float64 `json:"rtt_stddev_ms"`
}

type report struct {
	GroupID   string      `json:"group_id"`
	GroupName string      `json:"group_name"`
	From      string      `json:"from"`
	To        string      `json:"to"`
	RangeS    float64     `json:"range_s"`
	StepS     *float64    `json:"step_s"`
	Summary   reportStats `json:"summary"`
	Targets   []struct {
		TargetID string `json:"target_id"`
		Address  string `json:"address"`
		reportStats
	} `json:"targets"`
	Series []struct {
		At string `json:"at"`
		reportStats
	} `json:"series"`
}

// reportFixture is a public group of three targets with two minutes of 1 Hz results
// from base: one always answers in 10 ms, one loses every other probe, one never answers.
func reportFixture(t *testing.T, e *env, owner *client) (group, time.Time) {
	t.Helper()
	var g group
	owner.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "edge", "visibility": "public", "targets": "192.0.2.1 192.0.2.2 192.0.2.3"}, 201, &g)
	base := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	var rs []ping.Result
	for i := -5; i < 125; i++ {
		at := base.Add(time.Duration(i) * time.Second)
		rs = append(rs,
			ping.Result{TargetID: g.Targets[0].ID, SentAt: at, OK: true, RTT: 10 * time.Millisecond},
			ping.Result{TargetID: g.Targets[1].ID, SentAt: at, OK: i%2 == 0, RTT: 30 * time.Millisecond},
			ping.Result{TargetID: g.Targets[2].ID, SentAt: at})
	}
	for i := range rs {
		if !rs[i].OK {
			rs[i].RTT = 0
		}
	}
	if err := e.store.WriteResults(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	return g, base
}

func TestReportJSON(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, bob := e.user("alice"), e.user("bob")
		g, base := reportFixture(t, e, alice)
		path := "/api/v1/groups/" + g.ID + "/report?"
		var r report
		alice.mustJSON("GET", path+"from="+url.QueryEscape(base.Format(time.RFC3339))+"&range=120s", nil, 200, &r)
		if r.GroupID != g.ID || r.GroupName != "edge" || r.RangeS != 120 || r.Series != nil ||
			r.From != base.Format(time.RFC3339) || r.To != base.Add(120*time.Second).Format(time.RFC3339) {
			t.Fatalf("report header %+v", r)
		}
		if len(r.Targets) != 3 {
			t.Fatalf("%d targets, want 3", len(r.Targets))
		}
		ok, flaky, silent := r.Targets[0], r.Targets[1], r.Targets[2]
		if ok.Sent != 120 || ok.Received != 120 || *ok.SuccessRate != 1 || *ok.LossPct != 0 || *ok.RTTAvgMs != 10 || *ok.RTTP50Ms != 10 || *ok.RTTStddevMs != 0 {
			t.Errorf("answering target: %+v", ok.reportStats)
		}
		if flaky.Sent != 120 || flaky.Received != 60 || *flaky.SuccessRate != 0.5 || *flaky.LossPct != 50 || *flaky.RTTMaxMs != 30 {
			t.Errorf("flaky target: %+v", flaky.reportStats)
		}
		if silent.Sent != 120 || silent.Received != 0 || *silent.SuccessRate != 0 || *silent.LossPct != 100 || silent.RTTAvgMs != nil || silent.RTTP99Ms != nil {
			t.Errorf("silent target: %+v", silent.reportStats)
		}
		// Summary: 180 of 360 answered; the RTT mean weighs every answer, not each target.
		if s := r.Summary; s.Sent != 360 || s.Received != 180 || *s.SuccessRate != 0.5 || math.Abs(*s.RTTAvgMs-(120*10+60*30)/180.0) > 0.001 {
			t.Errorf("summary %+v", s)
		}

		// Aliases, unix seconds, plain seconds and a step give the same counts.
		var alias report
		bob.mustJSON("GET", fmt.Sprintf("%sfloor_time=%d&time_range=120&step=1m", path, base.Unix()), nil, 200, &alias)
		if alias.Summary.Sent != 360 || alias.StepS == nil || *alias.StepS != 60 || len(alias.Series) != 2 ||
			alias.Series[0].Sent != 180 || alias.Series[1].At != base.Add(time.Minute).Format(time.RFC3339) {
			t.Errorf("alias report %+v", alias)
		}
		// An unaligned window is exact too: 30 s before base are 5 probes each (i = -5..-1).
		var edge report
		alice.mustJSON("GET", fmt.Sprintf("%sfrom=%d&range=5m&step=7s", path, base.Add(-30*time.Second).Unix()), nil, 200, &edge)
		if edge.Targets[0].Sent != 130 || len(edge.Series) != 43 {
			t.Errorf("unaligned 5 m: %d sent, %d buckets; want 130 and 43", edge.Targets[0].Sent, len(edge.Series))
		}
		var total int64
		for _, b := range edge.Series {
			total += b.Sent
		}
		if total != edge.Summary.Sent {
			t.Errorf("series adds up to %d, summary says %d", total, edge.Summary.Sent)
		}
		// Without from: the last range.
		var recent report
		alice.mustJSON("GET", path+"range=1h", nil, 200, &recent)
		if recent.Summary.Sent != 390 {
			t.Errorf("last hour: %d sent, want all 390", recent.Summary.Sent)
		}
	})
}

func TestReportCSV(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice := e.user("alice")
		g, base := reportFixture(t, e, alice)
		status, body, resp := alice.do("GET", fmt.Sprintf("/api/v1/groups/%s/report?from=%d&range=120s&format=csv", g.ID, base.Unix()), nil)
		if status != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("status %d, headers %v", status, resp.Header)
		}
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := "target_id,address,ip,sent,received,success_rate,loss_pct,rtt_min_ms,rtt_avg_ms,rtt_max_ms,rtt_p50_ms,rtt_p95_ms,rtt_p99_ms,rtt_stddev_ms,errors,location"
		if len(rows) != 4 || strings.Join(rows[0], ",") != want {
			t.Fatalf("csv:\n%s", body)
		}
		for i, row := range rows[1:] {
			if row[0] != g.Targets[i].ID || row[1] != g.Targets[i].Address || row[2] != g.Targets[i].Address || row[3] != "120" {
				t.Errorf("row %d: %v", i+1, row)
			}
		}
		if got := strings.Join(rows[2][4:8], ","); got != "60,0.5,50,30" {
			t.Errorf("flaky row %v, want received 60, success 0.5, loss 50, min 30", rows[2])
		}
		if got := strings.Join(rows[3][4:], ","); got != "0,0,100,,,,,,,,0,all" {
			t.Errorf("silent row %v: RTTs must be empty", rows[3])
		}
	})
}

func TestReportRejectsBadWindows(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, bob := e.user("alice"), e.user("bob")
		var g group
		alice.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "private", "targets": "192.0.2.1"}, 201, &g)
		p := "/api/v1/groups/" + g.ID + "/report?"
		future := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
		for _, bad := range []struct{ query, field string }{
			{"", "range"},
			{"range=0", "range"},
			{"range=-5s", "range"},
			{"range=abc", "range"},
			{"range=9601h", "range"},
			{"time_range=0s", "range"},
			{"range=120s&from=" + future, "from"},
			{"range=120s&from=yesterday", "from"},
			{"range=120s&floor_time=2026-13-01T00:00:00Z", "from"},
			{"range=120s&step=0", "step"},
			{"range=120s&step=-1s", "step"},
			{"range=120s&step=soon", "step"},
			{"range=24h&step=1s", "step"},
			{"range=1000s&step=0.999", "step"},
			{"range=120s&step=121s", "step"},
			{"range=120s&format=xml", "format"},
		} {
			t.Run(bad.query, func(t *testing.T) {
				alice.in(t).mustError("GET", p+bad.query, nil, 400, "invalid", bad.field)
			})
		}
		alice.mustJSON("GET", p+"range=1000s&step=1", nil, 200, nil) // exactly 1,000 buckets
		bob.mustError("GET", p+"range=120s", nil, 404, "not_found", "")
		e.anon().mustError("GET", p+"range=120s", nil, 401, "unauthenticated", "")
	})
}

func TestSamplesPages(t *testing.T) {
	eachEnv(t, options{}, func(t *testing.T, e *env) {
		alice, bob := e.user("alice"), e.user("bob")
		g, base := reportFixture(t, e, alice)
		p := "/api/v1/groups/" + g.ID + "/targets/" + g.Targets[1].ID + "/samples?"
		type page struct {
			Samples []struct {
				At    string   `json:"at"`
				OK    bool     `json:"ok"`
				RTTMs *float64 `json:"rtt_ms"`
			} `json:"samples"`
			Next *string `json:"next"`
		}
		q := fmt.Sprintf("from=%s&to=%d&limit=50", url.QueryEscape(base.Format(time.RFC3339)), base.Add(120*time.Second).Unix())
		var all []time.Time
		for cursor, n := "", 0; ; n++ {
			var pg page
			bob.mustJSON("GET", p+q+cursor, nil, 200, &pg) // a viewer of the public group
			for _, s := range pg.Samples {
				at, err := time.Parse(time.RFC3339Nano, s.At)
				if err != nil || (s.OK != (s.RTTMs != nil)) || (s.OK && *s.RTTMs != 30) {
					t.Fatalf("sample %+v", s)
				}
				all = append(all, at)
			}
			if pg.Next == nil {
				if n != 2 || len(pg.Samples) != 20 {
					t.Fatalf("last page %d has %d samples, want page 2 with 20", n, len(pg.Samples))
				}
				break
			}
			cursor = "&cursor=" + *pg.Next
		}
		if len(all) != 120 || !all[0].Equal(base) || !all[119].Equal(base.Add(119*time.Second)) {
			t.Fatalf("%d samples from %v to %v, want 120 from base, oldest first", len(all), all[0], all[len(all)-1])
		}
		for i := 1; i < len(all); i++ {
			if !all[i].After(all[i-1]) {
				t.Fatalf("samples out of order at %d", i)
			}
		}
		for _, bad := range []struct{ query, field string }{
			{"limit=0", "limit"},
			{"limit=10001", "limit"},
			{"cursor=abc", "cursor"},
			{"from=tomorrow", "from"},
			{fmt.Sprintf("from=%d&to=%d", base.Unix(), base.Unix()), "to"},
		} {
			alice.mustError("GET", p+bad.query, nil, 400, "invalid", bad.field)
		}
		alice.mustError("GET", "/api/v1/groups/"+g.ID+"/targets/"+zeroID+"/samples", nil, 404, "not_found", "")
		alice.mustError("GET", "/api/v1/groups/"+g.ID+"/targets/nope/samples", nil, 400, "invalid", "target_id")
	})
}
