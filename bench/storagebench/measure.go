//go:build linux

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"pingdeck/bench/internal/instance"
	"pingdeck/internal/bus"
	"pingdeck/internal/ping"
	"pingdeck/internal/store/storetest"
)

const (
	adminPassword = "storagebench-password"
	busUser       = "storagebench"
	busPassword   = "storagebench-bus-password"
	location      = "bench"
	readyTimeout  = 2 * time.Minute
	// drainTimeout bounds the wait for the writer to take every result.
	drainTimeout = 10 * time.Minute
)

// result is one build on one database.
type result struct {
	build, db    string
	probes       int64
	before, used int64 // bytes of the results' storage before and after
	took         time.Duration
}

func (r result) perProbe() float64 { return float64(r.used-r.before) / float64(r.probes) }

// measure runs one build on one database: set up (agent, groups), measure the empty
// storage, send the results, wait until they are taken, stop, measure again.
func measure(ctx context.Context, o options, b build, db, parent string, logf func(string, ...any)) (result, error) {
	res := result{build: b.name, db: db}
	dir, err := os.MkdirTemp(parent, db+"-")
	if err != nil {
		return res, err
	}
	dbURL := "sqlite:" + filepath.Join(dir, "bench.db")
	if db == "postgres" {
		u, stopDB, err := storetest.Throwaway(ctx)
		if err != nil {
			return res, err
		}
		defer stopDB()
		dbURL = u
	}
	spec := instance.ServerSpec{Bin: b.bin, Dir: dir, DBURL: dbURL, AdminPassword: adminPassword, Targets: o.n,
		Groups: (o.n + o.perGroup - 1) / o.perGroup,
		Args:   []string{"--nats-listen", "127.0.0.1:0", "--nats-user", busUser, "--nats-password", busPassword}}
	srv, c, err := start(ctx, spec)
	if err != nil {
		return res, err
	}
	var cred struct {
		Credential string `json:"credential"`
	}
	if err := c.Call(ctx, "POST", "/api/v1/agents", map[string]string{"name": "storagebench", "location": location}, http.StatusCreated, &cred); err != nil {
		srv.Stop()
		return res, err
	}
	groups, err := c.CreateLoopbackGroups(ctx, instance.LoopbackGroups{Name: "storage", First: 0, N: o.n, PerGroup: o.perGroup,
		Interval: time.Second, Locations: []string{location}})
	if err != nil {
		srv.Stop()
		return res, err
	}
	if err := srv.Stop(); err != nil {
		return res, err
	}
	if res.before, err = storageBytes(ctx, db, dir, dbURL); err != nil {
		return res, err
	}
	if srv, c, err = start(ctx, spec); err != nil {
		return res, err
	}
	defer srv.Stop()
	busAddr, ok := srv.FindInLog(func(line string) (string, bool) {
		return instance.LogField(line, "bus: embedded NATS listening for agents and replicas", "addr")
	})
	if !ok {
		return res, fmt.Errorf("the server did not log where its bus listens:\n%s", srv.LogTail(20))
	}
	began := time.Now()
	if res.probes, err = send(ctx, o, "nats://"+busAddr, cred.Credential, groups); err != nil {
		return res, err
	}
	logf("sent %d results in %s; waiting for the writer", res.probes, time.Since(began).Round(time.Millisecond))
	if err := waitTaken(ctx, c, res.probes); err != nil {
		return res, err
	}
	res.took = time.Since(began)
	if err := srv.Stop(); err != nil {
		return res, fmt.Errorf("stop: %w", err)
	}
	res.used, err = storageBytes(ctx, db, dir, dbURL)
	logf("%.2f bytes a probe", res.perProbe())
	if db == "postgres" {
		logBreakdown(ctx, dbURL, logf)
	}
	return res, err
}

func start(ctx context.Context, spec instance.ServerSpec) (*instance.Process, *instance.Client, error) {
	srv, addr, err := instance.StartServer(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	c := instance.NewClient(addr)
	if err := c.WaitReady(ctx, srv, readyTimeout); err != nil {
		srv.Stop()
		return nil, nil, err
	}
	if err := c.Login(ctx, adminPassword); err != nil {
		srv.Stop()
		return nil, nil, err
	}
	return srv, c, nil
}

// send publishes every target's results of o.minutes, second by second, one batch per
// group and second, as an agent at location does; the minutes start on a block's
// start (a server that runs on writes whole blocks) and end 10 minutes ago.
func send(ctx context.Context, o options, url, credential string, groups []instance.Group) (int64, error) {
	cred, err := bus.ParseAgentCredential(credential)
	if err != nil {
		return 0, err
	}
	opts, err := cred.ConnectOptions()
	if err != nil {
		return 0, err
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(2000))
	if err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	end := time.Now().Add(-10 * time.Minute).Truncate(5 * time.Minute)
	first := end.Add(-time.Duration(o.minutes) * time.Minute)
	links := map[string]link{}
	var sent, seq, before int64
	for s := range o.minutes * 60 {
		second := first.Add(time.Duration(s) * time.Second)
		for _, g := range groups {
			batch := bus.ResultBatch{Source: "storagebench", Before: uint64(before)}
			for _, t := range g.Targets {
				l, ok := links[t.ID]
				if !ok {
					l = newLink(rng, t.ID)
					links[t.ID] = l
				}
				batch.Results = append(batch.Results, l.probe(rng, t.ID, second, o.loss))
			}
			data, err := json.Marshal(batch)
			if err != nil {
				return sent, err
			}
			seq++
			m := &nats.Msg{Subject: bus.ResultSubject(location, g.ID), Data: data}
			if _, err := js.PublishMsgAsync(m, jetstream.WithMsgID(fmt.Sprintf("storagebench-%d", seq))); err != nil {
				return sent, err
			}
			n := int64(len(batch.Results))
			sent, before = sent+n, before+n
		}
		if s%60 == 59 {
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				return sent, ctx.Err()
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return sent, ctx.Err()
	}
	return sent, nil
}

// link is one target's path: a base RTT and its jitter.
type link struct {
	phase         time.Duration
	baseUs, sdUs  float64
	lagged, spiky float64
}

func newLink(rng *rand.Rand, id string) link {
	base := 2000 + rng.Float64()*78000 // 2–80 ms
	return link{phase: ping.Phase(id, time.Second), baseUs: base, sdUs: base * 0.03, lagged: 0.05, spiky: 0.005}
}

// probe is the target's probe of one second: sent at its phase, late by up to 100 µs
// (by up to 40 ms one time in 20, as a busy scheduler makes it), lost with
// probability loss, its RTT the base with 3 % jitter and a spike one time in 200.
func (l link) probe(rng *rand.Rand, target string, second time.Time, loss float64) bus.WireResult {
	lag := time.Duration(rng.IntN(100)) * time.Microsecond
	if rng.Float64() < l.lagged {
		lag = time.Duration(rng.IntN(40_000)) * time.Microsecond
	}
	w := bus.WireResult{Target: target, SentUs: second.Add(l.phase + lag).UnixMicro()}
	if rng.Float64() < loss {
		w.Err = ping.ErrTimeout
		return w
	}
	rtt := l.baseUs + math.Abs(rng.NormFloat64())*l.sdUs
	if rng.Float64() < l.spiky {
		rtt += rng.Float64() * 50_000
	}
	w.OK, w.RTTUs = true, int64(rtt)
	return w
}

// waitTaken waits until the writer has taken every result (and nothing waits for it).
func waitTaken(ctx context.Context, c *instance.Client, want int64) error {
	deadline := time.Now().Add(drainTimeout)
	for {
		m, err := c.Scrape(ctx)
		if err != nil {
			return err
		}
		waiting := m.Sum("pingdeck_bus_stream_messages")
		if m.Has("pingdeck_bus_writer_undelivered") {
			waiting = m.Sum("pingdeck_bus_writer_undelivered")
		}
		if written := m.Sum("pingdeck_results_written_total"); written >= float64(want) && waiting == 0 {
			return nil
		}
		if dropped := m.Sum("pingdeck_results_dropped_total"); dropped > 0 {
			return fmt.Errorf("%v results dropped", dropped)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the writer took %v of %d results in %s", m.Sum("pingdeck_results_written_total"), want, drainTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// storageBytes is what the results take: the pages of SQLite's results tables and
// their indexes (dbstat; the file also holds the state history the alerts keep of
// these targets), or the results tables of PostgreSQL (every partition, index and
// TOAST table).
func storageBytes(ctx context.Context, db, dir, dbURL string) (int64, error) {
	if db == "sqlite" {
		conn, err := sql.Open("sqlite", filepath.Join(dir, "bench.db"))
		if err != nil {
			return 0, err
		}
		defer conn.Close()
		var total int64
		err = conn.QueryRowContext(ctx, `SELECT coalesce(sum(pgsize), 0) FROM dbstat
			WHERE name LIKE 'probe\_%' ESCAPE '\' OR name LIKE 'sqlite\_autoindex\_probe\_%' ESCAPE '\'`).Scan(&total)
		return total, err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var total int64
	err = conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
		WHERE c.relkind = 'r' AND (c.relname ~ '^probe_(results|blocks|rollups_1m|rollups_1h)(_p[0-9]+)?$')`).Scan(&total)
	return total, err
}

// writeReport prints the table.
func writeReport(w interface{ Write([]byte) (int, error) }, o options, rows []result, start time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d targets at 1 Hz for %d minutes (%.1f %% lost, RTT 2–80 ms with 3 %% jitter and spikes, sends late by up to 100 µs, one in 20 by up to 40 ms), sent as an agent through the bus and the database writer; run took %s.\n\n",
		o.n, o.minutes, 100*o.loss, time.Since(start).Round(time.Second))
	b.WriteString("| build | database | probes | bytes | bytes a probe | per 1,000 targets a month |\n|---|---|---:|---:|---:|---:|\n")
	for _, r := range rows {
		month := r.perProbe() * 1000 * 86400 * 30
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %.2f | %.1f GB |\n", r.build, r.db, r.probes, r.used-r.before, r.perProbe(), month/1e9)
	}
	_, err := w.Write([]byte(b.String()))
	return err
}

// logBreakdown logs each results relation's size (heap, indexes, TOAST) and dead rows.
func logBreakdown(ctx context.Context, dbURL string, logf func(string, ...any)) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT c.relname, pg_relation_size(c.oid), pg_indexes_size(c.oid),
		pg_total_relation_size(c.oid) - pg_relation_size(c.oid) - pg_indexes_size(c.oid), coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0)
		FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
		WHERE c.relkind = 'r' AND c.relname ~ '^probe_(blocks|rollups_1h)_p' ORDER BY 1`)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var heap, idx, rest, live, dead int64
		if rows.Scan(&name, &heap, &idx, &rest, &live, &dead) == nil {
			logf("  %s: heap %d, indexes %d, toast and forks %d; %d live rows, %d dead", name, heap, idx, rest, live, dead)
		}
	}
}
