//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// scenario is one report request.
type scenario struct {
	name   string
	g      *benchGroup
	from   time.Time
	span   time.Duration
	step   time.Duration
	goal   time.Duration // 0: no stated target
	timing []time.Duration
	sent   int64
}

func (sc *scenario) path() string {
	p := fmt.Sprintf("/api/v1/groups/%s/report?from=%s&range=%ds", sc.g.ID, sc.from.Format(time.RFC3339Nano), int(sc.span.Seconds()))
	if sc.step > 0 {
		p += fmt.Sprintf("&step=%ds", int(sc.step.Seconds()))
	}
	return p
}

func (b *bench) scenarios() []*scenario {
	end := b.day.Add(time.Duration(b.o.hours) * time.Hour)
	recent := end.Add(-5 * time.Minute) // raw rows exist around here
	hour := end.Add(-70 * time.Minute)
	odd := 30500 * time.Millisecond // moves a window off the minute: raw rows at both edges
	L, S := &b.large, &b.small
	day := time.Duration(b.o.hours) * time.Hour
	return []*scenario{
		{name: "120 s, minute-aligned", g: L, from: recent, span: 120 * time.Second, goal: 50 * time.Millisecond},
		{name: "120 s, edges off the minute", g: L, from: recent.Add(odd), span: 120 * time.Second, goal: 50 * time.Millisecond},
		{name: "120 s, minute-aligned", g: S, from: recent, span: 120 * time.Second},
		{name: "120 s, edges off the minute", g: S, from: recent.Add(odd), span: 120 * time.Second},
		{name: "1 h, minute-aligned", g: S, from: hour, span: time.Hour},
		{name: "1 h, edges off the minute", g: S, from: hour.Add(odd), span: time.Hour},
		{name: fmt.Sprintf("%d h, minute-aligned", b.o.hours), g: S, from: b.day, span: day, goal: 200 * time.Millisecond},
		{name: fmt.Sprintf("%d h, edges off the minute", b.o.hours), g: S, from: b.day.Add(odd), span: day - time.Minute, goal: 200 * time.Millisecond},
		{name: fmt.Sprintf("%d h, step 1 h (series)", b.o.hours), g: S, from: b.day, span: day, step: time.Hour},
		{name: fmt.Sprintf("%d h, minute-aligned", b.o.hours), g: L, from: b.day, span: day},
	}
}

// timeReports asks each report once to warm up, then o.runs times.
func (b *bench) timeReports(ctx context.Context) ([]*scenario, error) {
	var done []*scenario
	for _, sc := range b.scenarios() {
		for i := range b.o.runs + 1 {
			start := time.Now()
			status, raw, err := b.call(ctx, "GET", sc.path(), nil)
			took := time.Since(start)
			if err != nil {
				return done, err
			}
			if status != http.StatusOK {
				return done, fmt.Errorf("%s: %d %s", sc.path(), status, raw)
			}
			if i == 0 {
				var r struct {
					Summary struct{ Sent int64 } `json:"summary"`
				}
				if err := json.Unmarshal(raw, &r); err != nil {
					return done, err
				}
				sc.sent = r.Summary.Sent
				continue
			}
			sc.timing = append(sc.timing, took)
		}
		b.logf("%-32s %4d targets: p50 %s", sc.name, len(sc.g.Targets), median(sc.timing))
		done = append(done, sc)
	}
	return done, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func (b *bench) print(w io.Writer, reports []*scenario) {
	si := b.seeded
	fmt.Fprintf(w, "Seeded: %d targets (%d + %d) × 1 Hz for %d minutes: %d probes in %d blocks (%.1f MB) and %d hourly rollups (%.1f MB), %.2f bytes a probe; took %s.\n\n",
		si.targets, len(b.large.Targets), len(b.small.Targets), si.minutes, si.probes, si.blockRows, float64(si.blockBytes)/1e6,
		si.hourRows, float64(si.hourBytes)/1e6, float64(si.blockBytes+si.hourBytes)/float64(si.probes), si.took.Round(time.Second))
	fmt.Fprintln(w, "| ingest path | results | seconds | results/s |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, in := range b.ingest {
		fmt.Fprintf(w, "| %s | %d | %.1f | %.0f |\n", in.path, in.rows, in.took.Seconds(), float64(in.rows)/in.took.Seconds())
	}
	fmt.Fprintf(w, "\n| report (HTTP, JSON) | targets | p50 ms | min ms | max ms | sent (expected) | target |\n")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---|")
	for _, sc := range reports {
		s := slices.Clone(sc.timing)
		slices.Sort(s)
		// Every target sends once a second, so a window of whole seconds inside the
		// seeded day holds that many probes a target — unless an edge lies off the
		// minute before where probes are stored (that minute then counts whole).
		expected := fmt.Sprint(int64(len(sc.g.Targets)) * int64(sc.span/time.Second))
		end := sc.from.Add(sc.span)
		if (sc.from.Before(b.raw) && !sc.from.Equal(sc.from.Truncate(time.Minute))) ||
			(end.Before(b.raw) && !end.Equal(end.Truncate(time.Minute))) {
			expected = "edge minute whole"
		}
		goal := ""
		if sc.goal > 0 {
			verdict := "met"
			if median(sc.timing) >= sc.goal {
				verdict = "MISSED"
			}
			goal = fmt.Sprintf("< %s: %s", sc.goal, verdict)
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %d (%s) | %s |\n", sc.name, len(sc.g.Targets), ms(median(s)), ms(s[0]), ms(s[len(s)-1]), sc.sent, expected, goal)
	}
	fmt.Fprintf(w, "\np50 of %d runs after one warm-up; PostgreSQL with fsync and synchronous_commit off (throwaway cluster).\n", b.o.runs)
}
