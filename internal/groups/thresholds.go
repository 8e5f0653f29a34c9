package groups

import (
	"time"
)

// Thresholds decide a target's state (internal/alerts) from its last Window probes
// that left: loss at or above DownLossPct is down, at or above DegradedLossPct (or the
// RTTPercentile of the answered probes at or above a positive DegradedRTTMs) degraded,
// otherwise up; Consecutive evaluations must agree before the state changes; a target
// changing state FlapChanges times within FlapWindow is flapping.
type Thresholds struct {
	Window          int
	DownLossPct     float64
	DegradedLossPct float64
	DegradedRTTMs   float64 // 0: RTT never degrades
	RTTPercentile   int     // 50 or 95
	Consecutive     int
	FlapChanges     int
	FlapWindow      time.Duration
}

// DefaultThresholds are the built-in values, used where a group and target set none.
func DefaultThresholds() Thresholds {
	return Thresholds{Window: 10, DownLossPct: 100, DegradedLossPct: 10, RTTPercentile: 50,
		Consecutive: 3, FlapChanges: 5, FlapWindow: 10 * time.Minute}
}

// ThresholdOverride is what a group (over the built-in values) or a target (over its
// group's) sets: nil fields inherit.
type ThresholdOverride struct {
	Window          *int
	DownLossPct     *float64
	DegradedLossPct *float64
	DegradedRTTMs   *float64
	RTTPercentile   *int
	Consecutive     *int
	FlapChanges     *int
	FlapWindow      *time.Duration
}

// Over returns base with o's set fields in place of base's.
func (o ThresholdOverride) Over(base Thresholds) Thresholds {
	set(&base.Window, o.Window)
	set(&base.DownLossPct, o.DownLossPct)
	set(&base.DegradedLossPct, o.DegradedLossPct)
	set(&base.DegradedRTTMs, o.DegradedRTTMs)
	set(&base.RTTPercentile, o.RTTPercentile)
	set(&base.Consecutive, o.Consecutive)
	set(&base.FlapChanges, o.FlapChanges)
	set(&base.FlapWindow, o.FlapWindow)
	return base
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// Threshold bounds.
const (
	MinThresholdWindow = 3
	MaxThresholdWindow = 100
	MaxDegradedRTTMs   = 60000
	MinFlapChanges     = 2
	MaxFlapChanges     = 100
	MinFlapWindow      = time.Minute
	MaxFlapWindow      = 24 * time.Hour
)

// Validate checks effective thresholds; errors name the JSON field.
func (t Thresholds) Validate() error {
	switch {
	case t.Window < MinThresholdWindow || t.Window > MaxThresholdWindow:
		return Invalid("window", "must be from %d to %d probes, got %d", MinThresholdWindow, MaxThresholdWindow, t.Window)
	case !(t.DownLossPct > 0 && t.DownLossPct <= 100):
		return Invalid("down_loss_pct", "must be more than 0 and at most 100, got %g", t.DownLossPct)
	case !(t.DegradedLossPct > 0 && t.DegradedLossPct <= 100):
		return Invalid("degraded_loss_pct", "must be more than 0 and at most 100, got %g", t.DegradedLossPct)
	case t.DegradedLossPct > t.DownLossPct:
		return Invalid("degraded_loss_pct", "must not be above down_loss_pct (%g), got %g", t.DownLossPct, t.DegradedLossPct)
	case !(t.DegradedRTTMs >= 0 && t.DegradedRTTMs <= MaxDegradedRTTMs):
		return Invalid("degraded_rtt_ms", "must be from 0 (off) to %d, got %g", MaxDegradedRTTMs, t.DegradedRTTMs)
	case t.RTTPercentile != 50 && t.RTTPercentile != 95:
		return Invalid("rtt_percentile", "must be 50 or 95, got %d", t.RTTPercentile)
	case t.Consecutive < 1 || t.Consecutive > t.Window:
		return Invalid("consecutive", "must be from 1 to the window (%d), got %d", t.Window, t.Consecutive)
	case t.FlapChanges < MinFlapChanges || t.FlapChanges > MaxFlapChanges:
		return Invalid("flap_changes", "must be from %d to %d, got %d", MinFlapChanges, MaxFlapChanges, t.FlapChanges)
	case t.FlapWindow < MinFlapWindow || t.FlapWindow > MaxFlapWindow:
		return Invalid("flap_window", "must be from 1m to 24h, got %s", t.FlapWindow)
	}
	return nil
}
