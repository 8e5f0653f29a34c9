package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"pingdeck/internal/live/livetest"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
	"pingdeck/internal/store/storetest"
)

// The faults of the result path (DESIGN §9, issue 19), each on the real binary: the
// database away for a minute, the server killed, the bus store full, the bus files
// damaged.

// writeAtOnce makes the writer store every batch at once instead of holding results
// until their 5-minute block closes, so that a database outage of a few seconds meets
// writes (the tests below are about the writer's faults, not about blocks).
const writeAtOnce = "PINGDECK_RESULTS_HOLD_MB=0"

// faultRig is a server with one group of loopback targets and what the checks need.
type faultRig struct {
	t        *testing.T
	dsn      string
	env      []string
	srv      *proc
	c        *httpClient
	group    e2eGroup
	interval time.Duration
}

func newFaultRig(t *testing.T, dsn, targets string, interval time.Duration, extra ...string) *faultRig {
	t.Helper()
	env := append([]string{"PINGDECK_DATA_DIR=" + t.TempDir(), "PINGDECK_ADMIN_PASSWORD=admin-password",
		"PINGDECK_ALLOW_TARGETS=127.0.0.0/8", "PINGDECK_DB=" + dsn}, extra...)
	r := &faultRig{t: t, dsn: dsn, env: env, interval: interval}
	r.start()
	r.c.call("POST", "/api/v1/groups", map[string]any{"name": "faults", "interval": interval.String(), "targets": targets}, 201, &r.group)
	return r
}

func (r *faultRig) start() {
	r.srv = startServer(r.t, r.env, "--listen", "127.0.0.1:0")
	r.c = r.srv.client()
	waitReady(r.t, r.c)
	r.c.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "admin-password"}, 200, nil)
}

func (r *faultRig) metric(name string) float64 { return metricValue(r.c.text("/metrics"), name) }

// waitDrained waits until the writer has caught up with the result stream: what is
// not delivered to it yet is the last few batches (probing goes on), and a second more.
func (r *faultRig) waitDrained(limit time.Duration) {
	r.t.Helper()
	defer time.Sleep(time.Second)
	for deadline := time.Now().Add(limit); r.metric("pingdeck_bus_writer_undelivered") > 10; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatalf("the result stream did not drain into the database in %s:\n%s\n%s", limit,
				grepLines(r.c.text("/metrics"), "pingdeck_results", "pingdeck_bus", "pingdeck_result_"), r.srv.stderr)
		}
	}
}

// counts reads, for every target, how many results were stored in [from, to) with
// the window's edges moved to fall half an interval from its sends, so each holds
// exactly (to-from)/interval probes; raw rows and minute rollups separately, so a
// result counted twice shows.
func (r *faultRig) counts(st *store.Store, from, to time.Time) (raw, rolled, want int64) {
	r.t.Helper()
	ctx := context.Background()
	from = from.Truncate(r.interval)
	to = to.Truncate(r.interval)
	for _, tg := range r.group.Targets {
		shift := ping.Phase(tg.ID, r.interval) - r.interval/2
		lo, hi := from.Add(shift), to.Add(shift)
		stats, err := st.ResultStats(ctx, []string{tg.ID}, lo, hi)
		if err != nil {
			r.t.Fatal(err)
		}
		raw += stats[tg.ID].Sent
		want += int64(hi.Sub(lo) / r.interval)
	}
	return raw, r.rolled(st, from.Truncate(time.Minute), to.Truncate(time.Minute)), want
}

// rolled is the results in whole minutes [from, to) per the rollups, less the raw rows
// there: 0 unless something was counted twice (or not at all) in the rollups.
func (r *faultRig) rolled(st *store.Store, from, to time.Time) int64 {
	r.t.Helper()
	ctx := context.Background()
	ids := make([]string, len(r.group.Targets))
	for i, tg := range r.group.Targets {
		ids[i] = tg.ID
	}
	rep, err := st.Report(ctx, store.ReportQuery{TargetIDs: ids, From: from, To: to, RawSince: from.Add(-time.Hour)})
	if err != nil {
		r.t.Fatal(err)
	}
	stats, err := st.ResultStats(ctx, ids, from, to)
	if err != nil {
		r.t.Fatal(err)
	}
	var raw int64
	for _, s := range stats {
		raw += s.Sent
	}
	return rep.Summary.Sent - raw
}

func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// setTableAway renames probe_blocks away (every result write fails, as with the
// database gone, while the rest of the server works) or back.
func setTableAway(t *testing.T, dsn string, away bool) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := "ALTER TABLE probe_blocks RENAME TO probe_blocks_away"
	if !away {
		q = "ALTER TABLE probe_blocks_away RENAME TO probe_blocks"
	}
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// TestDatabaseDownAMinuteStoresEveryResultOnce: the database takes no results for 60 s
// under a running server; the bus holds them, and when it is back every result of
// that minute is stored, exactly once, in the raw rows and in the rollups.
func TestDatabaseDownAMinuteStoresEveryResultOnce(t *testing.T) {
	const outage = 60 * time.Second
	dsn := storetest.PostgresURL(t)
	r := newFaultRig(t, dsn, "127.4.0.0/28", 500*time.Millisecond, writeAtOnce)
	waitUntil(t, 20*time.Second, "results stored", func() bool { return r.metric("pingdeck_results_written_total") > 32 })
	time.Sleep(3 * time.Second) // the window counted starts 2 s before the outage

	setTableAway(t, dsn, true)
	down := time.Now()
	waitUntil(t, 20*time.Second, "failed writes", func() bool { return r.metric("pingdeck_result_write_errors_total") > 0 })
	time.Sleep(time.Until(down.Add(outage)))
	if waiting := r.metric("pingdeck_bus_stream_messages"); waiting < 50 {
		t.Fatalf("after %s without a database the stream holds %v batches: where are the results?", outage, waiting)
	}
	setTableAway(t, dsn, false)
	up := time.Now()
	time.Sleep(3 * time.Second) // past the end of the window counted
	r.waitDrained(60 * time.Second)
	dropped := r.metric("pingdeck_results_dropped_total")
	r.srv.stop()

	st := openStore(t, dsn)
	raw, rolledExtra, want := r.counts(st, down.Add(-2*time.Second), up.Add(2*time.Second))
	if raw != want || rolledExtra != 0 {
		t.Fatalf("over the outage: %d results stored, want %d (rollups differ from raw rows by %d)\n%s", raw, want, rolledExtra, r.srv.stderr)
	}
	if dropped != 0 {
		t.Fatalf("%v results counted as dropped", dropped)
	}
}

// TestKillLosesAtMostOneBatch: SIGKILL loses at most what was not yet published (one
// batch, under 200 ms of results); what was published — held by the writer in open
// blocks, unacked on the bus — is stored after the restart, none twice.
func TestKillLosesAtMostOneBatch(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "kill.db")
	r := newFaultRig(t, dsn, "127.4.1.0/28", 200*time.Millisecond)
	time.Sleep(4 * time.Second)
	start := time.Now().Add(-3 * time.Second)
	if err := r.srv.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-r.srv.exited

	r.start()
	r.waitDrained(30 * time.Second)
	r.srv.stop()
	st := openStore(t, dsn)
	raw, rolledExtra, want := r.counts(st, start, killed.Add(-200*time.Millisecond))
	if raw != want || rolledExtra != 0 {
		t.Fatalf("up to 200 ms before the kill: %d results stored, want %d (rollups differ from raw rows by %d)", raw, want, rolledExtra)
	}
}

// TestFullBusDropsTheOldestAndCountsThem: with the database away and a 1 MiB stream,
// the bus drops its oldest results and the writer counts them; probing and the live
// stream go on; when the database is back every result of the outage is stored or
// counted as dropped, none twice.
func TestFullBusDropsTheOldestAndCountsThem(t *testing.T) {
	dsn := storetest.PostgresURL(t)
	r := newFaultRig(t, dsn, "127.5.0.0/24", 200*time.Millisecond, "PINGDECK_BUS_MAX_MB=1", writeAtOnce)
	waitUntil(t, 20*time.Second, "results stored", func() bool { return r.metric("pingdeck_results_written_total") > 1000 })
	time.Sleep(3 * time.Second) // the window counted starts 2 s before the outage

	conn, resp, err := r.c.wsDial(http.Header{"Origin": {r.c.base}}, livetest.Options{})
	if err != nil {
		t.Fatalf("dial: %v (%+v)", err, resp)
	}
	defer conn.Close()
	setTableAway(t, dsn, true)
	down := time.Now()
	waitUntil(t, 60*time.Second, "the stream to fill", func() bool { return r.metric("pingdeck_bus_stream_bytes") > 900<<10 })
	// Full: the live stream still carries every target, answered.
	for seen := map[string]bool{}; len(seen) < len(r.group.Targets); {
		m, err := conn.Next(time.Now().Add(10 * time.Second))
		if err != nil {
			t.Fatalf("live stream with the bus full: %v", err)
		}
		for _, it := range m.Items {
			if it.OK && it.At > down.UnixMilli() {
				seen[it.T] = true
			}
		}
	}
	time.Sleep(3 * time.Second) // over the limit for a while
	setTableAway(t, dsn, false)
	up := time.Now()
	time.Sleep(3 * time.Second) // past the end of the window counted
	r.waitDrained(60 * time.Second)
	// A gap is counted once it has stayed open 15 s (a batch published again may
	// still fill it).
	var dropped float64
	waitUntil(t, 40*time.Second, "the results the full stream dropped counted", func() bool {
		dropped = r.metric(`pingdeck_results_dropped_total{reason="bus_discarded"}`)
		return dropped > 0
	})
	if !strings.Contains(r.srv.stderr.String(), "results never reached the writer") {
		t.Errorf("no log line says results were dropped")
	}
	metrics := grepLines(r.c.text("/metrics"), "pingdeck_results", "pingdeck_bus", "pingdeck_result_")
	r.srv.stop()
	// Gaps still open at the stop are counted then: the log has every one.
	if logged := loggedDropped(t, r.srv.stderr.String()); logged >= dropped {
		dropped = logged
	} else {
		t.Errorf("the log counts %v dropped, the metric %v", logged, dropped)
	}
	st := openStore(t, dsn)
	raw, rolledExtra, want := r.counts(st, down.Add(-2*time.Second), up.Add(2*time.Second))
	if raw+int64(dropped) != want || rolledExtra != 0 {

		t.Fatalf("over the outage: %d stored + %v dropped, want %d (rollups differ from raw rows by %d)\n%s", raw, dropped, want, rolledExtra, metrics)
	}
}

// loggedDropped sums the results the writer's log says never reached it.
func loggedDropped(t *testing.T, log string) float64 {
	t.Helper()
	sum := 0.0
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "results never reached the writer") {
			continue
		}
		var l struct{ Count float64 }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		sum += l.Count
	}
	return sum
}

// TestDamagedResultStreamStillStarts: with results waiting in the stream, its files
// are truncated and garbled; the next start logs what it found and runs, storing new
// results.
func TestDamagedResultStreamStillStarts(t *testing.T) {
	dsn := storetest.PostgresURL(t)
	r := newFaultRig(t, dsn, "127.4.2.0/29", 200*time.Millisecond, writeAtOnce)
	setTableAway(t, dsn, true)
	waitUntil(t, 20*time.Second, "results waiting on the bus", func() bool { return r.metric("pingdeck_bus_stream_messages") > 10 })
	r.srv.stop()
	setTableAway(t, dsn, false)

	dataDir := strings.TrimPrefix(r.env[0], "PINGDECK_DATA_DIR=")
	streamDir := filepath.Join(dataDir, "bus", "jetstream", "$G", "streams", "PINGDECK_RESULTS")
	damaged := 0
	filepath.Walk(streamDir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		damaged++
		if damaged%2 == 0 {
			return os.Truncate(path, info.Size()/2)
		}
		return os.WriteFile(path, []byte("\x00garbage\xff"), 0o600)
	})
	if damaged == 0 {
		t.Fatalf("no files under %s", streamDir)
	}
	r.start()
	before := r.metric("pingdeck_results_written_total")
	waitUntil(t, 30*time.Second, "new results stored after the damaged start", func() bool {
		return r.metric("pingdeck_results_written_total") > before+50
	})
	log := r.srv.stderr.String()
	for _, want := range []string{"bus: the JetStream store was damaged", "bus: the result stream is damaged; deleting it and making it anew"} {
		if !strings.Contains(log, want) {
			t.Errorf("damage to %d files and no log line saying %q:\n%s", damaged, want, log)
		}
	}
	r.srv.stop()
}
