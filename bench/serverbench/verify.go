//go:build linux

package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"pingdeck/internal/ping"
)

// target is one probed target as the benchmark made it.
type target struct{ id, address string }

// countWindows are each target's window for counting its stored results: k whole
// intervals from base, shifted by the target's phase (its send time within the
// interval) less half an interval, so that every edge falls half an interval from a
// send and jitter cannot move a probe across one. A target sending on schedule has
// exactly k results in its window.
type countWindows struct {
	base     time.Time // an interval boundary, at or after the measured window's start
	interval time.Duration
	k        int // intervals in each window
}

// windowsWithin are the count windows for a measured window [start, end]: they start
// at the first interval boundary from start and hold every whole interval up to end.
func windowsWithin(start, end time.Time, interval time.Duration) countWindows {
	base := start.Truncate(interval)
	if base.Before(start) {
		base = base.Add(interval)
	}
	return countWindows{base: base, interval: interval, k: int(end.Sub(base) / interval)}
}

// of is a target's window [from, to).
func (w countWindows) of(targetID string) (from, to time.Time) {
	from = w.base.Add(ping.Phase(targetID, w.interval) - w.interval/2)
	return from, from.Add(time.Duration(w.k) * w.interval)
}

// storedOnce is the check that every result was stored once.
type storedOnce struct {
	Checked bool
	Want    int   // results each target should have in its window
	Targets int   // targets checked
	Off     int   // targets with another count
	Missing int64 // results short of Want, summed over targets
	Extra   int64 // results beyond Want, summed over targets
	Example string
	// Rows are all the raw rows once the writer caught up; Published all the results
	// the prober put on the bus (NaN without bus metrics). Equal when none was lost
	// between bus and database and none stored twice.
	Rows      int64
	Published float64
}

// tally compares each target's count in its window with want.
func tally(targets []target, counts map[string]int64, want int) storedOnce {
	s := storedOnce{Checked: true, Want: want, Targets: len(targets)}
	for _, t := range targets {
		n := counts[t.id]
		if n == int64(want) {
			continue
		}
		s.Off++
		if n < int64(want) {
			s.Missing += int64(want) - n
		} else {
			s.Extra += n - int64(want)
		}
		if s.Example == "" {
			s.Example = fmt.Sprintf("%s has %d", t.address, n)
		}
	}
	return s
}

// ok says whether the check passed.
func (s storedOnce) ok() bool {
	return s.Checked && s.Off == 0 && (math.IsNaN(s.Published) || float64(s.Rows) == s.Published)
}

// rollupCheck compares the rollups with the raw rows they sum.
type rollupCheck struct {
	Checked          bool
	Buckets          int64 // minute buckets compared
	Off              int64 // minute buckets whose rollup differs from the raw rows
	Missing, Extra   int64 // probes the 1-minute rollups lack or count beyond the raw rows
	HourOff          int64 // hour buckets that differ from the sum of their minutes
	HourChecked      bool
	ErrorsColumnless bool // a schema from before rollups counted unsent probes apart
}

func (r rollupCheck) ok() bool { return r.Checked && r.Off == 0 && r.HourOff == 0 }

// verifyTimeout bounds the checks' queries together.
const verifyTimeout = 10 * time.Minute

// verify runs the checks on the database at dbURL.
func verify(ctx context.Context, dbURL string, targets []target, w countWindows, published float64) (storedOnce, rollupCheck, error) {
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return storedOnce{}, rollupCheck{}, fmt.Errorf("verify: connect: %w", err)
	}
	defer conn.Close(context.Background())
	s, err := checkStoredOnce(ctx, conn, targets, w)
	if err != nil {
		return s, rollupCheck{}, err
	}
	s.Published = published
	r, err := checkRollups(ctx, conn)
	return s, r, err
}

// checkStoredOnce counts each target's raw rows in its window, and all raw rows.
func checkStoredOnce(ctx context.Context, conn *pgx.Conn, targets []target, w countWindows) (storedOnce, error) {
	ids := make([]string, len(targets))
	froms, tos := make([]time.Time, len(targets)), make([]time.Time, len(targets))
	for i, t := range targets {
		ids[i] = t.id
		froms[i], tos[i] = w.of(t.id)
	}
	rows, err := conn.Query(ctx, `
		SELECT w.id::text, (SELECT count(*) FROM probe_results r
			WHERE r.target_id = w.id AND r.sent_at >= w.from_at AND r.sent_at < w.to_at)
		FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS w(id, from_at, to_at)`, ids, froms, tos)
	if err != nil {
		return storedOnce{}, fmt.Errorf("verify: count per target: %w", err)
	}
	counts := make(map[string]int64, len(targets))
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return storedOnce{}, fmt.Errorf("verify: count per target: %w", err)
		}
		counts[id] = n
	}
	if err := rows.Err(); err != nil {
		return storedOnce{}, fmt.Errorf("verify: count per target: %w", err)
	}
	s := tally(targets, counts, w.k)
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM probe_results`).Scan(&s.Rows); err != nil {
		return s, fmt.Errorf("verify: count rows: %w", err)
	}
	return s, nil
}

// checkRollups compares every 1-minute rollup with the raw rows of its minute (sent +
// errors = rows, received = answered rows) and every 1-hour rollup with its minutes.
// The run is far younger than raw retention, so every rollup's raw rows are there.
func checkRollups(ctx context.Context, conn *pgx.Conn) (rollupCheck, error) {
	var r rollupCheck
	var hasErrors, hasHour bool
	if err := conn.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'probe_rollups_1m' AND column_name = 'errors'),
		to_regclass('probe_rollups_1h') IS NOT NULL`).Scan(&hasErrors, &hasHour); err != nil {
		return r, fmt.Errorf("verify: schema: %w", err)
	}
	r.ErrorsColumnless = !hasErrors
	counted := "sent"
	if hasErrors {
		counted = "sent + errors"
	}
	if err := conn.QueryRow(ctx, `
		WITH raw AS (
			SELECT target_id, date_trunc('minute', sent_at, 'UTC') AS bucket, count(*) AS n, count(*) FILTER (WHERE ok) AS answered
			FROM probe_results GROUP BY 1, 2),
		rollup AS (SELECT target_id, bucket, (`+counted+`)::bigint AS n, received::bigint AS answered FROM probe_rollups_1m)
		SELECT count(*),
			count(*) FILTER (WHERE raw.n IS DISTINCT FROM rollup.n OR raw.answered IS DISTINCT FROM rollup.answered),
			coalesce(sum(greatest(coalesce(raw.n, 0) - coalesce(rollup.n, 0), 0)), 0)::bigint,
			coalesce(sum(greatest(coalesce(rollup.n, 0) - coalesce(raw.n, 0), 0)), 0)::bigint
		FROM raw FULL JOIN rollup USING (target_id, bucket)`).Scan(&r.Buckets, &r.Off, &r.Missing, &r.Extra); err != nil {
		return r, fmt.Errorf("verify: minute rollups: %w", err)
	}
	r.Checked = true
	if !hasHour {
		return r, nil
	}
	cols := []string{"sent", "received"}
	if hasErrors {
		cols = append(cols, "errors")
	}
	sums, stored := "", ""
	for i, c := range cols {
		if i > 0 {
			sums, stored = sums+", ", stored+", "
		}
		sums += "sum(" + c + ")::bigint"
		stored += "h." + c + "::bigint"
	}
	if err := conn.QueryRow(ctx, `
		WITH m AS (SELECT target_id, date_trunc('hour', bucket, 'UTC') AS bucket, ROW(`+sums+`) AS v
			FROM probe_rollups_1m GROUP BY 1, 2),
		h AS (SELECT target_id, bucket, ROW(`+stored+`) AS v FROM probe_rollups_1h h)
		SELECT count(*) FROM m FULL JOIN h USING (target_id, bucket) WHERE m.v IS DISTINCT FROM h.v`).Scan(&r.HourOff); err != nil {
		return r, fmt.Errorf("verify: hour rollups: %w", err)
	}
	r.HourChecked = true
	return r, nil
}

// targetsOf lists the groups' targets.
func targetsOf(groups []benchGroup) []target {
	var out []target
	for _, g := range groups {
		for _, t := range g.Targets {
			out = append(out, target{id: t.ID, address: t.Address})
		}
	}
	return out
}
