//go:build unix

package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestMain(m *testing.M) { Main(m) }

// open connects to url and closes the connection when t ends.
func open(t testing.TB, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestDatabasesAreFreshAndIsolated(t *testing.T) {
	urlA, urlB := PostgresURL(t), PostgresURL(t)
	if urlA == urlB {
		t.Fatalf("two calls returned the same database: %s", urlA)
	}
	if !strings.HasPrefix(urlA, "postgres://") && !strings.HasPrefix(urlA, "postgresql://") {
		t.Errorf("URL %q is not postgres:// form", urlA)
	}
	a, b := open(t, urlA), open(t, urlB)
	ctx := context.Background()

	for name, db := range map[string]*sql.DB{"a": a, "b": b} {
		var one int
		if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("%s: SELECT 1 = %d, %v", name, one, err)
		}
		var tables int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil || tables != 0 {
			t.Fatalf("%s: fresh database has %d tables (err %v), want 0", name, tables, err)
		}
	}
	var dbA, dbB string
	if err := a.QueryRowContext(ctx, "SELECT current_database()").Scan(&dbA); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRowContext(ctx, "SELECT current_database()").Scan(&dbB); err != nil {
		t.Fatal(err)
	}
	if dbA == dbB || !strings.HasPrefix(dbA, "t_") || !strings.Contains(urlA, "/"+dbA) {
		t.Fatalf("databases: a=%q (url %s), b=%q", dbA, urlA, dbB)
	}

	if _, err := a.ExecContext(ctx, "CREATE TABLE only_in_a (x int); INSERT INTO only_in_a VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	var x int
	if err := a.QueryRowContext(ctx, "SELECT x FROM only_in_a").Scan(&x); err != nil || x != 42 {
		t.Fatalf("a: SELECT x = %d, %v", x, err)
	}
	var found bool
	if err := b.QueryRowContext(ctx, "SELECT to_regclass('public.only_in_a') IS NOT NULL").Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found {
		t.Fatal("database b sees the table created in database a")
	}
	_, err := b.ExecContext(ctx, "SELECT x FROM only_in_a")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" { // undefined_table
		t.Fatalf("b: SELECT from a's table: err = %v, want undefined_table", err)
	}
}

// TestDatabaseDroppedAfterTest checks the cleanup drops the database even while a
// connection to it is still open (WITH (FORCE)).
func TestDatabaseDroppedAfterTest(t *testing.T) {
	var name string
	var held *sql.DB
	t.Run("uses a database", func(t *testing.T) {
		u := PostgresURL(t)
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		held = db // closed only after the subtest's cleanup has dropped the database
		if err := db.QueryRow("SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
	})
	if held != nil {
		defer held.Close()
	}
	if t.Failed() || name == "" {
		t.SkipNow() // the subtest skipped (no Postgres) or already failed
	}
	var n int
	if err := current.admin.QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}

// TestParallel has several parallel tests each take a database and use the same table name.
func TestParallel(t *testing.T) {
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			db := open(t, PostgresURL(t))
			if _, err := db.Exec("CREATE TABLE same_name (i int)"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec("INSERT INTO same_name VALUES ($1)", i); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRow("SELECT count(*) FROM same_name").Scan(&n); err != nil || n != 1 {
				t.Fatalf("count = %d, %v; want 1", n, err)
			}
		})
	}
}

// TestThrowawayClusterSettings checks the throwaway cluster has no TCP listener and
// runs with the speed settings.
func TestThrowawayClusterSettings(t *testing.T) {
	u := PostgresURL(t)
	if current.cl == nil {
		t.Skipf("using %s, not a throwaway cluster", EnvDatabaseURL)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if got := parsed.Query().Get("host"); got != current.cl.dir {
		t.Errorf("URL host = %q, want socket dir %q", got, current.cl.dir)
	}
	db := open(t, u)
	for setting, want := range map[string]string{
		"listen_addresses":        "",
		"unix_socket_directories": current.cl.dir,
		"port":                    "5433",
		"max_connections":         "200",
		"fsync":                   "off",
		"synchronous_commit":      "off",
		"full_page_writes":        "off",
	} {
		var got string
		if err := db.QueryRow("SELECT current_setting($1)", setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
	if sock := filepath.Join(current.cl.dir, ".s.PGSQL.5433"); len(sock) > maxSocketPath {
		t.Errorf("socket path %s is %d bytes long", sock, len(sock))
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct{ base, want string }{
		{"postgres://postgres@/postgres?host=/tmp/pgt1&port=5433&sslmode=disable",
			"postgres://postgres@/t_1?host=/tmp/pgt1&port=5433&sslmode=disable"},
		{"postgres://u:p%40ss@db.example:5432/app?sslmode=require",
			"postgres://u:p%40ss@db.example:5432/t_1?sslmode=require"},
		{"postgresql://u@localhost", "postgresql://u@localhost/t_1"},
		{"postgres://u@localhost/app?dbname=app&sslmode=disable",
			"postgres://u@localhost/t_1?sslmode=disable"},
	}
	for _, tt := range tests {
		base, err := url.Parse(tt.base)
		if err != nil {
			t.Fatal(err)
		}
		before := base.String()
		if got := withDatabase(base, "t_1"); got != tt.want {
			t.Errorf("withDatabase(%s) = %s, want %s", tt.base, got, tt.want)
		}
		if base.String() != before {
			t.Errorf("withDatabase modified its base: %s, was %s", base, before)
		}
	}
}

func TestFindBinaries(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // nothing on PATH
	root := t.TempDir()
	mk := func(version string, names ...string) {
		bin := filepath.Join(root, version, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(bin, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	glob := filepath.Join(root, "*", "bin")

	if _, _, err := findBinaries(glob); err == nil || !strings.Contains(err.Error(), "no initdb/pg_ctl found") ||
		!strings.Contains(err.Error(), EnvDatabaseURL) {
		t.Fatalf("with no binaries: err = %v", err)
	}

	mk("9.6", "initdb", "pg_ctl")
	mk("10", "initdb", "pg_ctl")
	mk("15", "initdb", "pg_ctl")
	mk("17", "initdb") // incomplete: no pg_ctl
	mk("devel", "initdb", "pg_ctl")
	initdb, pgCtl, err := findBinaries(glob)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "15", "bin", "initdb"); initdb != want {
		t.Errorf("initdb = %s, want %s", initdb, want)
	}
	if want := filepath.Join(root, "15", "bin", "pg_ctl"); pgCtl != want {
		t.Errorf("pg_ctl = %s, want %s", pgCtl, want)
	}

	// PATH wins over the fallback dirs.
	onPath := t.TempDir()
	for _, n := range []string{"initdb", "pg_ctl"} {
		if err := os.WriteFile(filepath.Join(onPath, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", onPath)
	if initdb, pgCtl, err := findBinaries(glob); err != nil || filepath.Dir(initdb) != onPath || filepath.Dir(pgCtl) != onPath {
		t.Errorf("with binaries on PATH: %s, %s, %v", initdb, pgCtl, err)
	}
}

// recordingTB records Skip and Fatal instead of acting on the real test.
type recordingTB struct {
	testing.TB
	skipped, fatal string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recordingTB) Fatal(args ...any) {
	r.fatal = fmt.Sprint(args...)
	runtime.Goexit()
}

// record runs f(r) in its own goroutine, as Skip and Fatal end it with runtime.Goexit.
func record(t *testing.T, f func(r *recordingTB)) *recordingTB {
	r := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestNoPostgresSkipsOrFailsInCI(t *testing.T) {
	why := errors.New("no initdb/pg_ctl found")

	t.Setenv("CI", "")
	r := record(t, func(r *recordingTB) { unavailable(r, why) })
	if r.fatal != "" || !strings.Contains(r.skipped, why.Error()) {
		t.Errorf("without CI: skipped %q, fatal %q; want a skip saying why", r.skipped, r.fatal)
	}

	t.Setenv("CI", "true")
	r = record(t, func(r *recordingTB) { unavailable(r, why) })
	if r.skipped != "" || !strings.Contains(r.fatal, why.Error()) {
		t.Errorf("with CI: skipped %q, fatal %q; want a failure saying why", r.skipped, r.fatal)
	}
}

// TestWithoutMain checks PostgresURL tells a package that forgot TestMain what to do.
// It briefly clears the state Main set; this test is not parallel, so no other test
// runs meanwhile.
func TestWithoutMain(t *testing.T) {
	saved := current
	current = nil
	defer func() { current = saved }()
	r := record(t, func(r *recordingTB) { PostgresURL(r) })
	if !strings.Contains(r.fatal, "call storetest.Main from TestMain") {
		t.Errorf("fatal = %q, skipped = %q; want the TestMain hint", r.fatal, r.skipped)
	}
}
