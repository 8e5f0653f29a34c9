package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// Samples paging limits.
const (
	defaultSamplesLimit = 1000
	maxSamplesLimit     = 10000
	defaultSamplesSpan  = time.Hour
)

// sampleJSON is one raw result, with the location it was probed from. Sent is false
// for a probe that never left; Err says why a probe failed: "timeout" for a lost one,
// else the reason it never left ("no such host", "does not resolve", "send failed",
// "error"); null when answered.
type sampleJSON struct {
	At       string   `json:"at"`
	Location string   `json:"location"`
	OK       bool     `json:"ok"`
	RTTMs    *float64 `json:"rtt_ms"`
	Sent     bool     `json:"sent"`
	Err      *string  `json:"err"`
}

type samplesJSON struct {
	Samples []sampleJSON `json:"samples"`
	Next    *string      `json:"next"`
}

// handleSamples pages through one target's raw results in [from, to), oldest first
// (those sent at the same time in the order of their locations' names), from every
// location or the one ?location= names, for a detail chart. next, when not null, is
// the cursor of the following page: "<unix µs>:<location>" of the last sample.
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
		q, err := parseSamplesQuery(c, time.Now())
		if err != nil {
			return err
		}
		q.TargetID = targetID
		var rows []store.Sample
		if q.From.Before(q.To) {
			limit := q.Limit
			q.Limit++ // one more says whether there is a next page
			if rows, err = s.Store.Samples(ctx, q); err != nil {
				return err
			}
			q.Limit = limit
		}
		out := samplesJSON{Samples: make([]sampleJSON, 0, min(len(rows), q.Limit))}
		if len(rows) > q.Limit {
			rows = rows[:q.Limit]
			last := rows[q.Limit-1]
			next := strconv.FormatInt(last.SentAt.UnixMicro(), 10) + ":" + last.Location
			out.Next = &next
		}
		for _, r := range rows {
			smp := sampleJSON{At: r.SentAt.UTC().Format(time.RFC3339Nano), Location: r.Location, OK: r.OK, Sent: r.Unsent == ""}
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

// parseSamplesQuery reads from (default to − 1 h), to (default now), location, limit
// and the cursor (see handleSamples; a cursor of just a send time, as older servers
// gave, continues after every sample sent then). A cursor at or past to leaves
// [From, To) empty.
func parseSamplesQuery(c *gin.Context, now time.Time) (store.SampleQuery, error) {
	q := store.SampleQuery{To: now}
	if raw := c.Query("to"); raw != "" {
		var ok bool
		if q.To, ok = parseInstant(raw); !ok {
			return q, groups.Invalid("to", "must be RFC 3339 or unix seconds; got %q", raw)
		}
	}
	q.From = q.To.Add(-defaultSamplesSpan)
	if raw := c.Query("from"); raw != "" {
		var ok bool
		if q.From, ok = parseInstant(raw); !ok {
			return q, groups.Invalid("from", "must be RFC 3339 or unix seconds; got %q", raw)
		}
	}
	if !q.To.After(q.From) {
		return q, groups.Invalid("to", "must be after from")
	}
	var err error
	if q.Location, err = queryLocation(c); err != nil {
		return q, err
	}
	q.Limit = defaultSamplesLimit
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxSamplesLimit {
			return q, groups.Invalid("limit", "must be a whole number from 1 to %d", maxSamplesLimit)
		}
		q.Limit = n
	}
	if raw := c.Query("cursor"); raw != "" {
		rawUs, loc, hasLoc := strings.Cut(raw, ":")
		us, err := strconv.ParseInt(rawUs, 10, 64)
		if err != nil || us < 0 || (hasLoc && !groups.ValidLocation(loc)) {
			return q, groups.Invalid("cursor", "must be the next value of a previous answer")
		}
		switch {
		case us >= q.To.UnixMicro():
			q.From = q.To // past the window: an empty last page
		case us >= q.From.UnixMicro():
			q.After = &store.SampleKey{SentAt: time.UnixMicro(us).UTC(), Location: loc}
		}
	}
	return q, nil
}
