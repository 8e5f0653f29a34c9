// Package storedonce checks in PostgreSQL that a benchmark's probe results were stored
// once each: every target has exactly one raw row per interval of a measured window.
package storedonce

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"pingdeck/internal/probeblock"

	"pingdeck/bench/internal/mdtable"
	"pingdeck/internal/ping"
)

// Target is one probed target as a benchmark made it.
type Target struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

// Windows are each target's window for counting its stored results: K whole intervals
// from Base, shifted by the target's phase (its send time within the interval) less
// half an interval, so that every edge falls half an interval from a send and jitter
// cannot move a probe across one. A target sending on schedule has exactly K results
// in its window.
type Windows struct {
	Base     time.Time // an interval boundary, at or after the measured window's start
	Interval time.Duration
	K        int // intervals in each window
}

// Within are the count windows for a measured window [start, end]: they start at the
// first interval boundary from start and hold every whole interval up to end.
func Within(start, end time.Time, interval time.Duration) Windows {
	base := start.Truncate(interval)
	if base.Before(start) {
		base = base.Add(interval)
	}
	return Windows{Base: base, Interval: interval, K: int(end.Sub(base) / interval)}
}

// Of is a target's window [from, to).
func (w Windows) Of(targetID string) (from, to time.Time) {
	from = w.Base.Add(ping.Phase(targetID, w.Interval) - w.Interval/2)
	return from, from.Add(time.Duration(w.K) * w.Interval)
}

// Tally compares each target's count in its window with Want.
type Tally struct {
	Want    int   // results each target should have in its window
	Targets int   // targets checked
	Stored  int64 // results in the targets' windows, summed
	Off     int   // targets with another count
	Missing int64 // results short of Want, summed over targets
	Extra   int64 // results beyond Want, summed over targets
	Example string
}

// Count tallies counts (results per target ID in its window) against want.
func Count(targets []Target, counts map[string]int64, want int) Tally {
	s := Tally{Want: want, Targets: len(targets)}
	for _, t := range targets {
		n := counts[t.ID]
		s.Stored += n
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
			s.Example = fmt.Sprintf("%s has %d", t.Address, n)
		}
	}
	return s
}

// OK says every target had Want results.
func (s Tally) OK() bool { return s.Off == 0 }

// String says what was checked and, when it failed, how.
func (s Tally) String() string {
	if s.OK() {
		return fmt.Sprintf("%s targets × %d in their windows", mdtable.Number(float64(s.Targets), 0), s.Want)
	}
	var bad []string
	if s.Missing > 0 {
		bad = append(bad, fmt.Sprintf("%s missing", mdtable.Number(float64(s.Missing), 0)))
	}
	if s.Extra > 0 {
		bad = append(bad, fmt.Sprintf("%s extra", mdtable.Number(float64(s.Extra), 0)))
	}
	bad = append(bad, fmt.Sprintf("(%d of %d targets off, e.g. %s of %d)", s.Off, s.Targets, s.Example, s.Want))
	return strings.Join(bad, " ")
}

// Check counts each target's stored probes in its window of w, and tallies them.
func Check(ctx context.Context, conn *pgx.Conn, targets []Target, w Windows) (Tally, error) {
	ids := make([]string, len(targets))
	froms, tos := make([]time.Time, len(targets)), make([]time.Time, len(targets))
	for i, t := range targets {
		ids[i] = t.ID
		froms[i], tos[i] = w.Of(t.ID)
	}
	var blocks bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('probe_blocks') IS NOT NULL").Scan(&blocks); err != nil {
		return Tally{}, fmt.Errorf("storedonce: schema: %w", err)
	}
	var counts map[string]int64
	var err error
	if blocks {
		counts, err = countBlocks(ctx, conn, ids, froms, tos)
	} else {
		counts, err = countRows(ctx, conn, ids, froms, tos)
	}
	if err != nil {
		return Tally{}, err
	}
	return Count(targets, counts, w.K), nil
}

// countRows counts raw rows (one a probe: builds before compact storage).
func countRows(ctx context.Context, conn *pgx.Conn, ids []string, froms, tos []time.Time) (map[string]int64, error) {
	rows, err := conn.Query(ctx, `
		SELECT w.id::text, (SELECT count(*) FROM probe_results r
			WHERE r.target_id = w.id AND r.sent_at >= w.from_at AND r.sent_at < w.to_at)
		FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS w(id, from_at, to_at)`, ids, froms, tos)
	if err != nil {
		return nil, fmt.Errorf("storedonce: count per target: %w", err)
	}
	defer rows.Close()
	counts := make(map[string]int64, len(ids))
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("storedonce: count per target: %w", err)
		}
		counts[id] = n
	}
	return counts, rows.Err()
}

// countBlocks counts each target's stored probes in its window [froms[i], tos[i]).
func countBlocks(ctx context.Context, conn *pgx.Conn, ids []string, froms, tos []time.Time) (map[string]int64, error) {
	return countProbes(ids, froms, tos, func(f func(string, []probeblock.Probe)) error {
		return ForEachBlock(ctx, conn, ids, f)
	})
}

// countProbes counts each target's probes in its window [froms[i], tos[i]) as each
// gives them (every stored probe once); probes of other targets are ignored.
func countProbes(ids []string, froms, tos []time.Time, each func(f func(target string, probes []probeblock.Probe)) error) (map[string]int64, error) {
	window := make(map[string][2]int64, len(ids))
	for i, id := range ids {
		window[id] = [2]int64{froms[i].UnixMicro(), tos[i].UnixMicro()}
	}
	counts := make(map[string]int64, len(ids))
	err := each(func(target string, probes []probeblock.Probe) {
		w, ok := window[target]
		if !ok {
			return
		}
		for _, p := range probes {
			if p.SentUs >= w[0] && p.SentUs < w[1] {
				counts[target]++
			}
		}
	})
	return counts, err
}

// ForEachBlock decodes every stored block of targets (all with none) and calls f with
// its probes.
func ForEachBlock(ctx context.Context, conn *pgx.Conn, targets []string, f func(target string, probes []probeblock.Probe)) error {
	q := `SELECT target_id::text, (extract(epoch FROM start) * 1000000)::bigint, data FROM probe_blocks`
	var args []any
	if targets != nil {
		q += ` WHERE target_id = ANY($1::uuid[])`
		args = append(args, targets)
	}
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("storedonce: read blocks: %w", err)
	}
	defer rows.Close()
	return decodeBlocks(rows, f)
}

// blockRows is what pgx's and database/sql's rows of (target, start µs, data) share.
type blockRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// decodeBlocks decodes each row's block and calls f with its probes.
func decodeBlocks(rows blockRows, f func(target string, probes []probeblock.Probe)) error {
	var buf []probeblock.Probe
	for rows.Next() {
		var id string
		var start int64
		var data []byte
		if err := rows.Scan(&id, &start, &data); err != nil {
			return fmt.Errorf("storedonce: read blocks: %w", err)
		}
		var err error
		if buf, err = probeblock.Decode(buf[:0], start, data); err != nil {
			return fmt.Errorf("storedonce: block of %s at %d: %w", id, start, err)
		}
		f(id, buf)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("storedonce: read blocks: %w", err)
	}
	return nil
}
