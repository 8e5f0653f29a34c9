package api

import (
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// historyRanges are the long-term views and their bucket sizes (288 to 365 buckets).
var historyRanges = map[string]struct{ span, step time.Duration }{
	"24h": {24 * time.Hour, 5 * time.Minute},
	"7d":  {7 * 24 * time.Hour, 30 * time.Minute},
	"30d": {30 * 24 * time.Hour, 2 * time.Hour},
	"1y":  {365 * 24 * time.Hour, 24 * time.Hour},
}

// historyQuantiles are the RTT percentiles of a bucket's smoke: p10, p25, p50, p75, p90.
var historyQuantiles = []float64{0.10, 0.25, 0.50, 0.75, 0.90}

type historyBucketJSON struct {
	T        time.Time `json:"t"`
	Sent     int64     `json:"sent"`
	Received int64     `json:"received"`
	LossPct  *float64  `json:"loss_pct"`
	MinMs    *float64  `json:"min_ms"`
	P10Ms    *float64  `json:"p10_ms"`
	P25Ms    *float64  `json:"p25_ms"`
	P50Ms    *float64  `json:"p50_ms"`
	P75Ms    *float64  `json:"p75_ms"`
	P90Ms    *float64  `json:"p90_ms"`
	MaxMs    *float64  `json:"max_ms"`
}

func historyBucketOut(at time.Time, st store.Stats) historyBucketJSON {
	b := historyBucketJSON{T: at, Sent: st.Sent, Received: st.Received}
	if st.Sent > 0 {
		loss := 100 * float64(st.Sent-st.Received) / float64(st.Sent)
		b.LossPct = &loss
	}
	if st.Received > 0 && len(st.Quantiles) == len(historyQuantiles) {
		ms := func(us float64) *float64 { v := math.Round(us) / 1000; return &v }
		b.MinMs, b.MaxMs = ms(st.RTTMinUs), ms(st.RTTMaxUs)
		b.P10Ms, b.P25Ms, b.P50Ms = ms(st.Quantiles[0]), ms(st.Quantiles[1]), ms(st.Quantiles[2])
		b.P75Ms, b.P90Ms = ms(st.Quantiles[3]), ms(st.Quantiles[4])
	}
	return b
}

// handleHistory answers one target's long-term RTT distribution and loss ("smoke"):
// buckets of the range's step, aligned to it, the last one still filling, from the
// same report the group's report endpoint runs.
func handleHistory(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		_, targetID, err := s.loadGroupTarget(c, groups.ActionView)
		if err != nil {
			return err
		}
		name := c.DefaultQuery("range", "24h")
		r, ok := historyRanges[name]
		if !ok {
			return groups.Invalid("range", `must be "24h", "7d", "30d" or "1y", got %q`, name)
		}
		location, err := queryLocation(c)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		to := now.Truncate(r.step).Add(r.step)
		from := to.Add(-r.span)
		rep, err := s.Store.Report(c.Request.Context(), store.ReportQuery{TargetIDs: []string{targetID}, Location: location,
			From: from, To: to, Step: r.step, RawSince: now.Add(-s.retentionRaw()), Quantiles: historyQuantiles})
		if err != nil {
			return err
		}
		buckets := make([]historyBucketJSON, len(rep.Series))
		for i, st := range rep.Series {
			buckets[i] = historyBucketOut(from.Add(time.Duration(i)*r.step), st)
		}
		c.JSON(http.StatusOK, gin.H{"from": from, "to": to, "step": shortDuration(r.step), "buckets": buckets})
		return nil
	})
}
