//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/api"
	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// bench is the seeded database and the HTTP server reports are asked of.
type bench struct {
	o        options
	st       *store.Store
	pg       *pgx.Conn // for the plain COPY
	srv      *httptest.Server
	accounts *auth.Service
	token    string
	large    benchGroup
	small    benchGroup
	day      time.Time // first second of the seeded day (minute-aligned)
	raw      time.Time // probes are stored from here to the day's end
	logf     func(string, ...any)
	ingest   []ingestResult
	seeded   seedInfo
}

type benchGroup struct {
	ID      string
	Targets []struct {
		ID string `json:"id"`
	} `json:"targets"`
}

func newBench(ctx context.Context, st *store.Store, dbURL string, o options, logf func(string, ...any)) (*bench, error) {
	accounts := auth.NewService(st, auth.Options{})
	if _, _, err := accounts.Bootstrap(ctx, "reportbench-password"); err != nil {
		return nil, err
	}
	users, err := accounts.ListUsers(ctx)
	if err != nil || len(users) == 0 {
		return nil, fmt.Errorf("no admin user: %v", err)
	}
	token, _, err := accounts.CreateToken(ctx, users[0].ID, "reportbench", 0)
	if err != nil {
		return nil, err
	}
	day := time.Now().UTC().Truncate(time.Minute).Add(-time.Duration(o.hours)*time.Hour - 2*time.Minute)
	raw := day // every probe of the day is stored (in blocks)
	pg, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, st: st, accounts: accounts, pg: pg, token: token, logf: logf, day: day, raw: raw}
	if err := b.serve(); err != nil {
		b.close()
		return nil, err
	}
	if err := b.createGroup(ctx, "large", 1, o.targets, &b.large); err != nil {
		b.close()
		return nil, err
	}
	if err := b.createGroup(ctx, "small", 2, o.small, &b.small); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *bench) close() {
	if b.srv != nil {
		b.srv.Close()
	}
	b.pg.Close(context.Background())
}

// serve (re)starts the HTTP server, telling the reports (as --retention-raw would) that
// probes are stored from the day's start. Called again after seeding, when that age is
// known exactly.
func (b *bench) serve() error {
	h, err := api.NewHandler(api.Deps{
		Store: b.st, Accounts: b.accounts, Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(),
		Ready: b.st.Ping, Limits: groups.Limits{MinInterval: 200 * time.Millisecond, MaxTargetsPerUser: 100_000},
		SessionTTL: time.Hour, RetentionRaw: time.Since(b.raw) + time.Hour, // nothing before the day: its first hour is read from blocks
	})
	if err != nil {
		return err
	}
	if b.srv != nil {
		b.srv.Close()
	}
	b.srv = httptest.NewServer(h)
	return nil
}

// createGroup makes a group of n targets 10.<net>.x.y through the API.
func (b *bench) createGroup(ctx context.Context, name string, net, n int, out *benchGroup) error {
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("10.%d.%d.%d", net, i/250, 1+i%250)
	}
	body, _ := json.Marshal(map[string]any{"name": name, "targets": strings.Join(addrs, "\n"), "paused": true})
	status, raw, err := b.call(ctx, "POST", "/api/v1/groups", body)
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return fmt.Errorf("create group %s: %d %s", name, status, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return err
	}
	if len(out.Targets) != n {
		return fmt.Errorf("group %s has %d targets, want %d", name, len(out.Targets), n)
	}
	return nil
}

// call sends one API request with the bench's token.
func (b *bench) call(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, b.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// allTargets lists every seeded target ID, large group first.
func (b *bench) allTargets() []string {
	var ids []string
	for _, g := range []benchGroup{b.large, b.small} {
		for _, t := range g.Targets {
			ids = append(ids, t.ID)
		}
	}
	return ids
}
