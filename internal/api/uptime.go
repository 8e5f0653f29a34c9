package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// uptimeWindows are the windows GET …/uptime answers for, ending now.
var uptimeWindows = []struct {
	name string
	span time.Duration
}{{"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}

// handleUptime answers each target's share of probes answered (received/sent, in per
// cent) over the last 24 h, 7 d and 30 d — exactly what the report says for the same
// windows; null when no probe was sent.
func handleUptime(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionView)
		if err != nil {
			return err
		}
		location, err := queryLocation(c)
		if err != nil {
			return err
		}
		ctx := c.Request.Context()
		targets, err := s.Store.Targets(ctx, v.Group.ID)
		if err != nil {
			return err
		}
		ids := groups.TargetIDs(targets)
		out := make(map[string]map[string]*float64, len(ids))
		for _, id := range ids {
			out[id] = map[string]*float64{}
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		for _, w := range uptimeWindows {
			rep, err := s.Store.Report(ctx, store.ReportQuery{TargetIDs: ids, Location: location, From: now.Add(-w.span), To: now,
				RawSince: now.Add(-s.retentionRaw())})
			if err != nil {
				return err
			}
			for _, id := range ids {
				out[id][w.name] = uptimePct(rep.Targets[id])
			}
		}
		c.JSON(http.StatusOK, gin.H{"targets": out})
		return nil
	})
}

func uptimePct(st store.Stats) *float64 {
	if st.Sent == 0 {
		return nil
	}
	p := 100 * float64(st.Received) / float64(st.Sent)
	return &p
}
