package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"pingdeck/internal/ping"
)

// WriteResults stores a batch of probe results now: each block they fall in is merged
// with the stored one and written, and the hourly rollups get the probes that were not
// stored yet, in one transaction. A result already stored (same target, location and
// send time) is skipped and not counted again, so a batch replayed after an uncertain
// failure never counts twice. The result writer holds results instead (Hold) and
// writes each block once, when it closes (CommitDue); WriteResults is for imports and
// tests, and costs a block rewrite per call.
func (s *Store) WriteResults(ctx context.Context, rs []ping.Result) error {
	if len(rs) == 0 {
		return nil
	}
	blocks := blocksOf(rs)
	keys := make([]blockKey, 0, len(blocks))
	for k := range blocks {
		keys = append(keys, k)
	}
	sortBlockKeys(keys)
	return s.commitBlocks(ctx, keys, blocks)
}

// Hold keeps results in memory, where every read sees them, until CommitDue writes
// the blocks they fall in. It returns the end of the latest of those blocks: once
// CommitDue reports blocks held from a later time only, the results are stored.
func (s *Store) Hold(rs []ping.Result) time.Time {
	if len(rs) == 0 {
		return time.Time{}
	}
	return time.UnixMicro(s.open.add(rs))
}

// CommitDue writes every held block that has closed by now — grace after its end on
// the clock and in the results held from its location, or two minutes after on the
// clock alone — or every held block when now is zero. It returns the end of the oldest
// block still held (zero when none is): every result of a block that ended before
// that is stored. On an error the blocks stay held, to be written by a later call.
func (s *Store) CommitDue(ctx context.Context, now time.Time, grace time.Duration) (heldFrom time.Time, err error) {
	cut := int64(-1)
	if !now.IsZero() {
		cut = now.UnixMicro()
	}
	keys, blocks := s.open.take(cut, grace.Microseconds())
	for start := 0; start < len(keys) && err == nil; start += commitBlocksAtOnce {
		part := keys[start:min(start+commitBlocksAtOnce, len(keys))]
		err = s.commitBlocks(ctx, part, blocks)
		s.open.done(part, err == nil)
		if err != nil {
			s.open.done(keys[start+len(part):], false)
		}
	}
	if from := s.open.heldFrom(); from > 0 {
		heldFrom = time.UnixMicro(from)
	}
	return heldFrom, err
}

// commitBlocksAtOnce bounds the blocks of one transaction.
const commitBlocksAtOnce = 2000

// HeldResults is how many results are held, waiting for their blocks to close.
func (s *Store) HeldResults() int { return s.open.count() }

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func sendTimeRange(rs []ping.Result) (first, last time.Time) {
	first, last = rs[0].SentAt, rs[0].SentAt
	for i := range rs {
		if rs[i].SentAt.Before(first) {
			first = rs[i].SentAt
		}
		if rs[i].SentAt.After(last) {
			last = rs[i].SentAt
		}
	}
	return first, last
}

// withPgx runs f on one pooled connection's pgx.Conn (Postgres only), for COPY and
// array parameters that database/sql cannot express.
func (s *Store) withPgx(ctx context.Context, f func(*pgx.Conn) error) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error { return f(driverConn.(*stdlib.Conn).Conn()) })
}

// sqliteChunk is the rows of one multi-row SQLite statement. The pure-Go driver
// prepares a statement on every execution and binds parameters in time quadratic in
// their number: a few dozen rows a statement is the sweet spot.
const sqliteChunk = 64

// valueTuples is "(?, …), (?, …)…": rows tuples of width placeholders.
func valueTuples(rows, width int) string {
	one := "(" + placeholders(width) + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}
