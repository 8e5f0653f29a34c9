//go:build linux

package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"pingdeck/bench/internal/storedonce"
	"pingdeck/internal/probeblock"
)

// storedOnce is the check that every result was stored once.
type storedOnce struct {
	Checked bool
	storedonce.Tally
	// Rows are all the raw rows once the writer caught up; Published all the results
	// the prober put on the bus (NaN without bus metrics). Equal when none was lost
	// between bus and database and none stored twice.
	Rows      int64
	Published float64
}

// ok says whether the check passed.
func (s storedOnce) ok() bool {
	return s.Checked && s.Tally.OK() && (math.IsNaN(s.Published) || float64(s.Rows) == s.Published)
}

// rollupCheck compares the rollups with the raw rows they sum.
type rollupCheck struct {
	Checked        bool
	Buckets        int64 // minute buckets compared
	Off            int64 // minute buckets whose rollup differs from the raw rows
	Missing, Extra int64 // probes the 1-minute rollups lack or count beyond the raw rows
	HourOff        int64 // hour buckets that differ from the sum of their minutes
	HourChecked    bool
	// HoursOnly: Buckets are hour rollups compared with the probes of their hour
	// (compact storage keeps no minute rollups).
	HoursOnly        bool
	ErrorsColumnless bool // a schema from before rollups counted unsent probes apart
}

func (r rollupCheck) ok() bool { return r.Checked && r.Off == 0 && r.HourOff == 0 }

// verifyTimeout bounds the checks' queries together.
const verifyTimeout = 10 * time.Minute

// verify runs the checks on the database at dbURL.
func verify(ctx context.Context, dbURL string, targets []storedonce.Target, w storedonce.Windows, published float64) (storedOnce, rollupCheck, error) {
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return storedOnce{}, rollupCheck{}, fmt.Errorf("verify: connect: %w", err)
	}
	defer conn.Close(context.Background())
	tally, err := storedonce.Check(ctx, conn, targets, w)
	if err != nil {
		return storedOnce{}, rollupCheck{}, err
	}
	s := storedOnce{Checked: true, Tally: tally, Published: published}
	var blocks bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('probe_blocks') IS NOT NULL").Scan(&blocks); err != nil {
		return s, rollupCheck{}, fmt.Errorf("verify: schema: %w", err)
	}
	if blocks {
		r, err := checkBlocks(ctx, conn, &s)
		return s, r, err
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM probe_results`).Scan(&s.Rows); err != nil {
		return s, rollupCheck{}, fmt.Errorf("verify: count rows: %w", err)
	}
	r, err := checkRollups(ctx, conn)
	return s, r, err
}

// checkBlocks counts every stored probe (compact storage: blocks of probes, hourly
// rollups) and compares each hourly rollup with the probes of its hour.
func checkBlocks(ctx context.Context, conn *pgx.Conn, s *storedOnce) (rollupCheck, error) {
	probes, n, err := probeHours(func(f func(string, []probeblock.Probe)) error {
		return storedonce.ForEachBlock(ctx, conn, nil, f)
	})
	if err != nil {
		return rollupCheck{}, err
	}
	s.Rows = n
	rows, err := conn.Query(ctx, `SELECT target_id::text, (extract(epoch FROM bucket) * 1000000)::bigint, (sent + errors)::bigint, received::bigint FROM probe_rollups_1h`)
	if err != nil {
		return rollupCheck{}, fmt.Errorf("verify: hour rollups: %w", err)
	}
	defer rows.Close()
	rollups := map[hourKey]hourSums{}
	for rows.Next() {
		var k hourKey
		var v hourSums
		if err := rows.Scan(&k.target, &k.hour, &v.n, &v.answered); err != nil {
			return rollupCheck{}, fmt.Errorf("verify: hour rollups: %w", err)
		}
		rollups[k] = rollups[k].plus(v)
	}
	if err := rows.Err(); err != nil {
		return rollupCheck{}, fmt.Errorf("verify: hour rollups: %w", err)
	}
	return compareHours(probes, rollups), nil
}

// hourKey is a target's UTC hour (unix µs at its start).
type hourKey struct {
	target string
	hour   int64
}

// hourSums are the probes of an hour (sent or not) and how many were answered.
type hourSums struct{ n, answered int64 }

func (a hourSums) plus(b hourSums) hourSums { return hourSums{a.n + b.n, a.answered + b.answered} }

// probeHours sums the probes each gives by target and hour, and counts them all.
func probeHours(each func(f func(target string, probes []probeblock.Probe)) error) (map[hourKey]hourSums, int64, error) {
	const hourUs = int64(time.Hour / time.Microsecond)
	out := map[hourKey]hourSums{}
	var total int64
	err := each(func(target string, probes []probeblock.Probe) {
		for _, p := range probes {
			k := hourKey{target, p.SentUs - p.SentUs%hourUs}
			v := out[k]
			v.n++
			if p.Status == probeblock.Answered {
				v.answered++
			}
			out[k] = v
			total++
		}
	})
	return out, total, err
}

// compareHours compares every hourly rollup with the probes of its hour, and finds
// hours with probes and no rollup.
func compareHours(probes, rollups map[hourKey]hourSums) rollupCheck {
	r := rollupCheck{Checked: true, HourChecked: true, HoursOnly: true, Buckets: int64(len(rollups))}
	for k, v := range rollups {
		if b := probes[k]; b != v {
			r.HourOff++
			r.Missing += max(b.n-v.n, 0)
			r.Extra += max(v.n-b.n, 0)
		}
	}
	for k, b := range probes {
		if _, ok := rollups[k]; !ok {
			r.HourOff++
			r.Missing += b.n
		}
	}
	return r
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
