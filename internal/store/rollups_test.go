package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/ping"
)

// rollupRow reads one stored rollup row's sent count and histogram size.
func rollupRow(t *testing.T, s *Store, table, target string, bucket time.Time) (sent int64, histBytes int) {
	t.Helper()
	arg := any(bucket.UnixMicro())
	if s.dialect == Postgres {
		arg = bucket
	}
	err := s.db.Raw("SELECT sent, length(hist) FROM "+table+" WHERE target_id = ? AND bucket = ?", target, arg).Row().Scan(&sent, &histBytes)
	if err != nil {
		t.Fatalf("%s row: %v", table, err)
	}
	return sent, histBytes
}

// Many small batches into one minute and hour leave one compact row each: the
// histogram is merged, not appended to, so it stays the size of one encoding.
func TestRollupRowsStayCompact(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		hour := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		id := uuid.NewString()
		rs := probesEvery(id, hour, hour.Add(time.Minute), 250*time.Millisecond, 10,
			func(i int) time.Duration { return time.Duration(1000+i%7*100) * time.Microsecond })
		for i := 0; i < len(rs); i += 4 { // 60 batches of 4
			if err := s.WriteResults(ctx, rs[i:min(i+4, len(rs))]); err != nil {
				t.Fatal(err)
			}
		}
		want := newAgg()
		for i := range rs {
			want.addProbe(outcomeUs(&rs[i]))
		}
		compact := len(want.hist.encode())
		for _, table := range []string{"probe_rollups_1h"} {
			sent, size := rollupRow(t, s, table, id, hour)
			if sent != int64(len(rs)) || size != compact {
				t.Errorf("%s: sent %d, histogram %d bytes; want %d, %d bytes", table, sent, size, len(rs), compact)
			}
		}
		rep := mustReport(t, s, ReportQuery{TargetIDs: []string{id}, From: hour, To: hour.Add(time.Hour)})
		if got := rep.Targets[id]; got.Sent != want.sent || got.Received != want.received || got.RTTP50Us != want.stats(nil).RTTP50Us {
			t.Errorf("report %+v, want sent %d received %d p50 %v", got, want.sent, want.received, want.stats(nil).RTTP50Us)
		}
	})
}

// Writers running at once on the same rollup rows lose nothing: each batch's
// probes are counted exactly once.
func TestConcurrentWritersCountEveryProbe(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		hour := time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
		ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
		const writers, batches = 4, 10
		var wg sync.WaitGroup
		errs := make(chan error, writers*batches)
		for w := range writers {
			wg.Go(func() {
				for b := range batches {
					// Each writer's own send times (offset by w µs), interleaved in the same minute.
					at := hour.Add(time.Duration(b)*time.Second + time.Duration(w)*time.Microsecond)
					var batch []ping.Result
					for _, id := range ids {
						batch = append(batch, ping.Result{TargetID: id, SentAt: at, OK: true, RTT: time.Duration(w+1) * time.Millisecond})
					}
					errs <- s.WriteResults(ctx, batch)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range ids {
			for _, table := range []string{"probe_rollups_1h"} {
				if sent, _ := rollupRow(t, s, table, id, hour); sent != writers*batches {
					t.Errorf("%s %s: sent %d, want %d", table, id, sent, writers*batches)
				}
			}
		}
		rep := mustReport(t, s, ReportQuery{TargetIDs: ids, From: hour, To: hour.Add(time.Minute)})
		if rep.Summary.Sent != 3*writers*batches || rep.Summary.RTTMinUs != 1000 || rep.Summary.RTTMaxUs != writers*1000 {
			t.Errorf("summary %+v", rep.Summary)
		}
	})
}
