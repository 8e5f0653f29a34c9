package api

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
)

// Report limits.
const (
	maxReportBuckets       = 1000
	defaultRetentionRaw    = 168 * time.Hour
	defaultRetentionRollup = 9600 * time.Hour
)

// reportWindow is a validated report request.
type reportWindow struct {
	from, to time.Time
	step     time.Duration // 0: no series
	csv      bool
	// location, when set, counts only the probes sent from there.
	location string
	// csvByLocation splits the CSV's rows by location (by=location).
	csvByLocation bool
}

// queryParam reads name, or its alias when name is absent.
func queryParam(c *gin.Context, name, alias string) string {
	if v, ok := c.GetQuery(name); ok || alias == "" {
		return strings.TrimSpace(v)
	}
	return strings.TrimSpace(c.Query(alias))
}

// parseReportWindow checks from/range/step/format/location/by against the clock and
// the retention.
func (s *server) parseReportWindow(c *gin.Context, now time.Time) (*reportWindow, error) {
	w := &reportWindow{}
	switch f := c.Query("format"); f {
	case "", "json":
	case "csv":
		w.csv = true
	default:
		return nil, groups.Invalid("format", `must be "json" or "csv"`)
	}
	var err error
	if w.location, err = queryLocation(c); err != nil {
		return nil, err
	}
	switch by := c.Query("by"); by {
	case "":
	case "location":
		w.csvByLocation = true
	default:
		return nil, groups.Invalid("by", `must be "location" (CSV rows per target and location) or absent`)
	}
	rawRange := queryParam(c, "range", "time_range")
	if rawRange == "" {
		return nil, groups.Invalid("range", "is required: a duration like 120s, 5m, 24h, or seconds")
	}
	span, ok := parseSpan(rawRange)
	switch {
	case !ok:
		return nil, groups.Invalid("range", "must be a duration like 120s, 5m, 24h, or seconds; got %q", rawRange)
	case span <= 0:
		return nil, groups.Invalid("range", "must be positive")
	case span > s.retentionRollup():
		return nil, groups.Invalid("range", "must be at most the rollup retention (%s)", s.retentionRollup())
	}
	w.from = now.Add(-span)
	if rawFrom := queryParam(c, "from", "floor_time"); rawFrom != "" {
		if w.from, ok = parseInstant(rawFrom); !ok {
			return nil, groups.Invalid("from", "must be RFC 3339 (2026-11-22T10:00:00Z) or unix seconds; got %q", rawFrom)
		}
	}
	// A window older than the retention is not an error: it holds no probes any more,
	// which the answer says (sent 0, rates null).
	if w.from.After(now) {
		return nil, groups.Invalid("from", "is in the future")
	}
	w.from = w.from.UTC().Truncate(time.Microsecond)
	w.to = w.from.Add(span.Truncate(time.Microsecond))
	if rawStep := c.Query("step"); rawStep != "" {
		step, ok := parseSpan(rawStep)
		switch {
		case !ok:
			return nil, groups.Invalid("step", "must be a duration like 10s or 1h, or seconds; got %q", rawStep)
		case step <= 0:
			return nil, groups.Invalid("step", "must be positive")
		case step > span:
			return nil, groups.Invalid("step", "must not be longer than range (%s)", span)
		case step < time.Millisecond || span/step > maxReportBuckets || (span%step != 0 && span/step == maxReportBuckets):
			return nil, groups.Invalid("step", "is too small for range %s: at most %d buckets (step ≥ %s)", span, maxReportBuckets,
				(span / maxReportBuckets).Round(time.Millisecond))
		}
		w.step = step.Truncate(time.Microsecond)
	}
	return w, nil
}

func (s *server) retentionRollup() time.Duration {
	if s.RetentionRollup > 0 {
		return s.RetentionRollup
	}
	return defaultRetentionRollup
}

func (s *server) retentionRaw() time.Duration {
	if s.RetentionRaw > 0 {
		return s.RetentionRaw
	}
	return defaultRetentionRaw
}

// parseSpan accepts a Go duration ("120s", "5m", "24h", "1h30m"), days ("7d") or a
// number of seconds ("120", "0.5").
func parseSpan(v string) (time.Duration, bool) {
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(secs) || math.Abs(secs) > 1e9 {
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || math.Abs(n) > 1e5 {
			return 0, false
		}
		return time.Duration(n * float64(24*time.Hour)), true
	}
	d, err := time.ParseDuration(v)
	return d, err == nil
}

// parseInstant accepts RFC 3339 (with or without fractional seconds) or unix seconds.
func parseInstant(v string) (time.Time, bool) {
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(secs, 0).UTC(), secs >= 0 && secs < 1e11
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(secs) || secs < 0 || secs > 1e11 {
			return time.Time{}, false
		}
		whole, frac := math.Modf(secs)
		return time.Unix(int64(whole), int64(math.Round(frac*1e6))*1000).UTC(), true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}
