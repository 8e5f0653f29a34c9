package api

import (
	"encoding/csv"
	"math"
	"net/http"
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
}

type reportBucketJSON struct {
	At string `json:"at"`
	statsJSON
}

type reportJSON struct {
	GroupID   string             `json:"group_id"`
	GroupName string             `json:"group_name"`
	From      string             `json:"from"`
	To        string             `json:"to"`
	RangeS    float64            `json:"range_s"`
	StepS     *float64           `json:"step_s"`
	Summary   statsJSON          `json:"summary"`
	Targets   []reportTargetJSON `json:"targets"`
	Series    []reportBucketJSON `json:"series,omitempty"`
}

// handleReport answers "what were the success rate and RTTs of this group's targets
// over [from, from+range)", as JSON or CSV. Any role that can see the group may ask.
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
		rep, err := s.Store.Report(ctx, store.ReportQuery{TargetIDs: ids, From: w.from, To: w.to, Step: w.step, RawSince: now.Add(-s.retentionRaw())})
		if err != nil {
			return err
		}
		out := reportJSON{
			GroupID: v.Group.ID, GroupName: v.Group.Name,
			From: w.from.Format(time.RFC3339Nano), To: w.to.Format(time.RFC3339Nano),
			RangeS: w.to.Sub(w.from).Seconds(), Summary: statsOut(rep.Summary),
			Targets: make([]reportTargetJSON, len(targets)),
		}
		for i, t := range targets {
			out.Targets[i] = reportTargetJSON{TargetID: t.ID, Address: t.Address, IP: ipString(t), statsJSON: statsOut(rep.Targets[t.ID])}
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
			writeReportCSV(c, &out, w.from)
			return nil
		}
		c.JSON(http.StatusOK, out)
		return nil
	})
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

// reportCSVHeader is PROTOCOL.md's header with errors appended last, so scripts that
// read the older columns by position keep working.
var reportCSVHeader = []string{"target_id", "address", "ip", "sent", "received", "success_rate", "loss_pct",
	"rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "rtt_p50_ms", "rtt_p95_ms", "rtt_p99_ms", "rtt_stddev_ms", "errors"}

// writeReportCSV writes one row per target under reportCSVHeader; nulls are
// empty. Once the header is out, a failed write means the client went away: nothing
// more can be told to it.
func writeReportCSV(c *gin.Context, r *reportJSON, from time.Time) {
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
	_ = cw.Write(reportCSVHeader)
	for _, t := range r.Targets {
		row := []string{t.TargetID, t.Address, t.IP, strconv.FormatInt(t.Sent, 10), strconv.FormatInt(t.Received, 10),
			num(t.SuccessRate), num(t.LossPct), num(t.RTTMinMs), num(t.RTTAvgMs), num(t.RTTMaxMs),
			num(t.RTTP50Ms), num(t.RTTP95Ms), num(t.RTTP99Ms), num(t.RTTStddevMs), strconv.FormatInt(t.Errors, 10)}
		_ = cw.Write(row)
	}
	cw.Flush()
}
