package api

import (
	"encoding/csv"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// statsJSON is PROTOCOL.md's STATS: counts, rates (null when nothing was sent) and
// RTTs in ms with µs precision (null when nothing was received). Sent counts the
// probes that left; Errors those that never did (the hostname had no address, the send
// was refused): they are no lost packets, so the rates are over Sent only.
type statsJSON struct {
	Sent        int64    `json:"sent"`
	Received    int64    `json:"received"`
	Errors      int64    `json:"errors"`
	SuccessRate *float64 `json:"success_rate"`
	LossPct     *float64 `json:"loss_pct"`
	RTTMinMs    *float64 `json:"rtt_min_ms"`
	RTTAvgMs    *float64 `json:"rtt_avg_ms"`
	RTTMaxMs    *float64 `json:"rtt_max_ms"`
	RTTP50Ms    *float64 `json:"rtt_p50_ms"`
	RTTP95Ms    *float64 `json:"rtt_p95_ms"`
	RTTP99Ms    *float64 `json:"rtt_p99_ms"`
	RTTStddevMs *float64 `json:"rtt_stddev_ms"`
}

type reportTargetJSON struct {
	TargetID string `json:"target_id"`
	Address  string `json:"address"`
	IP       string `json:"ip"`
	statsJSON
	// Locations splits the target's stats by where the probes were sent from: the
	// group's locations (zero when nothing came from one) and any other with probes in
	// the window; only the asked-for location with ?location=.
	Locations map[string]statsJSON `json:"locations"`
}

type reportBucketJSON struct {
	At string `json:"at"`
	statsJSON
}

type reportJSON struct {
	GroupID   string   `json:"group_id"`
	GroupName string   `json:"group_name"`
	From      string   `json:"from"`
	To        string   `json:"to"`
	RangeS    float64  `json:"range_s"`
	StepS     *float64 `json:"step_s"`
	// Location is the location the report counts, null for every location together.
	Location *string            `json:"location"`
	Summary  statsJSON          `json:"summary"`
	Targets  []reportTargetJSON `json:"targets"`
	Series   []reportBucketJSON `json:"series,omitempty"`
}

// handleReport answers "what were the success rate and RTTs of this group's targets
// over [from, from+range)" — from every location, or from the one ?location= names —
// with a breakdown by location per target, as JSON or CSV. Any role that can see the
// group may ask.
func handleReport(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionView)
		if err != nil {
			return err
		}
		now := time.Now()
		w, err := s.parseReportWindow(c, now)
		if err != nil {
			return err
		}
		ctx := c.Request.Context()
		targets, err := s.Store.Targets(ctx, v.Group.ID)
		if err != nil {
			return err
		}
		ids := groups.TargetIDs(targets)
		rep, err := s.Store.Report(ctx, store.ReportQuery{TargetIDs: ids, Location: w.location, From: w.from, To: w.to, Step: w.step,
			RawSince: now.Add(-s.retentionRaw())})
		if err != nil {
			return err
		}
		out := reportJSON{
			GroupID: v.Group.ID, GroupName: v.Group.Name,
			From: w.from.Format(time.RFC3339Nano), To: w.to.Format(time.RFC3339Nano),
			RangeS: w.to.Sub(w.from).Seconds(), Summary: statsOut(rep.Summary),
			Targets: make([]reportTargetJSON, len(targets)),
		}
		groupLocations := v.Group.ProbeLocations(s.locations().Own())
		if w.location != "" {
			out.Location = &w.location
			groupLocations = []string{w.location}
		}
		for i, t := range targets {
			out.Targets[i] = reportTargetJSON{TargetID: t.ID, Address: t.Address, IP: ipString(t), statsJSON: statsOut(rep.Targets[t.ID]),
				Locations: locationStatsOut(groupLocations, rep.ByLocation[t.ID])}
		}
		if w.step > 0 {
			step := w.step.Seconds()
			out.StepS = &step
			out.Series = make([]reportBucketJSON, len(rep.Series))
			for i, st := range rep.Series {
				at := w.from.Add(time.Duration(i) * w.step)
				out.Series[i] = reportBucketJSON{At: at.Format(time.RFC3339Nano), statsJSON: statsOut(st)}
			}
		}
		if w.csv {
			writeReportCSV(c, &out, w.from, w.csvByLocation)
			return nil
		}
		c.JSON(http.StatusOK, out)
		return nil
	})
}

// locationStatsOut is a target's breakdown by location: every one of always (zero
// when it has no probes) and every location of byLocation.
func locationStatsOut(always []string, byLocation map[string]store.Stats) map[string]statsJSON {
	out := make(map[string]statsJSON, len(always)+len(byLocation))
	for _, loc := range always {
		out[loc] = statsOut(byLocation[loc])
	}
	for loc, st := range byLocation {
		out[loc] = statsOut(st)
	}
	return out
}

func ipString(t groups.Target) string {
	if !t.IP.IsValid() {
		return ""
	}
	return t.IP.String()
}

// statsOut converts µs sums to the wire's ms, rounded to the µs.
func statsOut(st store.Stats) statsJSON {
	out := statsJSON{Sent: st.Sent, Received: st.Received, Errors: st.Errors}
	if st.Sent > 0 {
		rate := float64(st.Received) / float64(st.Sent)
		loss := 100 * float64(st.Sent-st.Received) / float64(st.Sent)
		out.SuccessRate, out.LossPct = &rate, &loss
	}
	if st.Received > 0 {
		ms := func(us float64) *float64 { v := math.Round(us) / 1000; return &v }
		out.RTTMinMs, out.RTTAvgMs, out.RTTMaxMs = ms(st.RTTMinUs), ms(st.RTTMeanUs), ms(st.RTTMaxUs)
		out.RTTP50Ms, out.RTTP95Ms, out.RTTP99Ms = ms(st.RTTP50Us), ms(st.RTTP95Us), ms(st.RTTP99Us)
		out.RTTStddevMs = ms(st.RTTStddevUs)
	}
	return out
}

// reportCSVHeader is PROTOCOL.md's header with errors and location appended last, so
// scripts that read the older columns by position keep working.
var reportCSVHeader = []string{"target_id", "address", "ip", "sent", "received", "success_rate", "loss_pct",
	"rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "rtt_p50_ms", "rtt_p95_ms", "rtt_p99_ms", "rtt_stddev_ms", "errors", "location"}

// allLocations is the location column of a row that counts every location together.
const allLocations = "all"

// writeReportCSV writes one row per target under reportCSVHeader (location: the one
// asked for, or "all"), or with byLocation one row per target and location (the
// target's locations in the JSON, by name); nulls are empty. Once the header is out, a failed
// write means the client went away: nothing more can be told to it.
func writeReportCSV(c *gin.Context, r *reportJSON, from time.Time, byLocation bool) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="pingdeck-report-`+r.GroupID+`-`+from.Format("20060102T150405Z")+`.csv"`)
	c.Status(http.StatusOK)
	cw := csv.NewWriter(c.Writer)
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	row := func(t *reportTargetJSON, st *statsJSON) []string {
		return []string{t.TargetID, t.Address, t.IP, strconv.FormatInt(st.Sent, 10), strconv.FormatInt(st.Received, 10),
			num(st.SuccessRate), num(st.LossPct), num(st.RTTMinMs), num(st.RTTAvgMs), num(st.RTTMaxMs),
			num(st.RTTP50Ms), num(st.RTTP95Ms), num(st.RTTP99Ms), num(st.RTTStddevMs), strconv.FormatInt(st.Errors, 10)}
	}
	_ = cw.Write(reportCSVHeader)
	if !byLocation {
		loc := allLocations
		if r.Location != nil {
			loc = *r.Location
		}
		for i := range r.Targets {
			_ = cw.Write(append(row(&r.Targets[i], &r.Targets[i].statsJSON), loc))
		}
		cw.Flush()
		return
	}
	for i := range r.Targets {
		t := &r.Targets[i]
		for _, loc := range slices.Sorted(maps.Keys(t.Locations)) {
			st := t.Locations[loc]
			_ = cw.Write(append(row(t, &st), loc))
		}
	}
	cw.Flush()
}
