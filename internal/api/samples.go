package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
)

// Samples paging limits.
const (
	defaultSamplesLimit = 1000
	maxSamplesLimit     = 10000
	defaultSamplesSpan  = time.Hour
)

// sampleJSON is one raw result. Sent is false for a probe that never left; Err says
// why a probe failed: "timeout" for a lost one, else the reason it never left ("no
// such host", "does not resolve", "send failed", "error"); null when answered.
type sampleJSON struct {
	At    string   `json:"at"`
	OK    bool     `json:"ok"`
	RTTMs *float64 `json:"rtt_ms"`
	Sent  bool     `json:"sent"`
	Err   *string  `json:"err"`
}

type samplesJSON struct {
	Samples []sampleJSON `json:"samples"`
	Next    *string      `json:"next"`
}

// handleSamples pages through one target's raw results in [from, to), oldest first,
// for a detail chart. next, when not null, is the cursor of the following page.
func handleSamples(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionView)
		if err != nil {
			return err
		}
		targetID, err := pathUUID(c, "target_id")
		if err != nil {
			return err
		}
		ctx := c.Request.Context()
		if _, err := s.Store.Target(ctx, v.Group.ID, targetID); errors.Is(err, groups.ErrNotFound) {
			return groups.NotFound("target")
		} else if err != nil {
			return err
		}
		from, to, limit, err := parseSamplesQuery(c, time.Now())
		if err != nil {
			return err
		}
		rows, err := s.Store.Samples(ctx, targetID, from, to, limit+1)
		if err != nil {
			return err
		}
		out := samplesJSON{Samples: make([]sampleJSON, 0, min(len(rows), limit))}
		if len(rows) > limit {
			rows = rows[:limit]
			next := strconv.FormatInt(rows[limit-1].SentAt.UnixMicro(), 10)
			out.Next = &next
		}
		for _, r := range rows {
			smp := sampleJSON{At: r.SentAt.UTC().Format(time.RFC3339Nano), OK: r.OK, Sent: r.Unsent == ""}
			switch {
			case r.OK:
				ms := float64(r.RTTUs) / 1000
				smp.RTTMs = &ms
			case r.Unsent != "":
				smp.Err = &r.Unsent
			default:
				timeout := ping.ErrTimeout
				smp.Err = &timeout
			}
			out.Samples = append(out.Samples, smp)
		}
		c.JSON(http.StatusOK, out)
		return nil
	})
}

// parseSamplesQuery reads from (default to − 1 h), to (default now), limit and the
// cursor (the send time, unix µs, of the last sample already seen).
func parseSamplesQuery(c *gin.Context, now time.Time) (from, to time.Time, limit int, err error) {
	to = now
	if raw := c.Query("to"); raw != "" {
		var ok bool
		if to, ok = parseInstant(raw); !ok {
			return from, to, 0, groups.Invalid("to", "must be RFC 3339 or unix seconds; got %q", raw)
		}
	}
	from = to.Add(-defaultSamplesSpan)
	if raw := c.Query("from"); raw != "" {
		var ok bool
		if from, ok = parseInstant(raw); !ok {
			return from, to, 0, groups.Invalid("from", "must be RFC 3339 or unix seconds; got %q", raw)
		}
	}
	if !to.After(from) {
		return from, to, 0, groups.Invalid("to", "must be after from")
	}
	limit = defaultSamplesLimit
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxSamplesLimit {
			return from, to, 0, groups.Invalid("limit", "must be a whole number from 1 to %d", maxSamplesLimit)
		}
		limit = n
	}
	if raw := c.Query("cursor"); raw != "" {
		us, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || us < 0 {
			return from, to, 0, groups.Invalid("cursor", "must be the next value of a previous answer")
		}
		from = afterCursor(from, to, us)
	}
	return from, to, limit, nil
}

// afterCursor is where the page after cursor us (unix µs) starts within [from, to): just
// after it, or at to (an empty page) when the cursor is at or past the window's end.
// Comparing before adding keeps the largest cursor from wrapping around to the first page.
func afterCursor(from, to time.Time, us int64) time.Time {
	if us >= to.UnixMicro() {
		return to
	}
	if after := time.UnixMicro(us + 1); after.After(from) {
		return after
	}
	return from
}
