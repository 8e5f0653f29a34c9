//go:build unix

// Package storetest gives tests real databases: a fresh SQLite file, and a fresh
// database on a throwaway PostgreSQL cluster (or on PINGDECK_TEST_DATABASE_URL).
//
// A package whose tests need Postgres calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
//
// and each test that wants a database calls PostgresURL. The throwaway cluster is
// started the first time a test asks for a database, listens only on a unix socket in
// its own temp dir (never on TCP, so it cannot collide with, or touch, a server on
// 127.0.0.1:5432), and is stopped and deleted when the package's tests end.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// EnvDatabaseURL names the environment variable that points the tests at an existing
// PostgreSQL server instead of a throwaway cluster. Its URL must let the user create and
// drop databases; per-test databases are created on that server and dropped afterwards.
const EnvDatabaseURL = "PINGDECK_TEST_DATABASE_URL"

const (
	// clusterPort only names the socket file (.s.PGSQL.5433): the cluster has no TCP
	// listener, and every cluster has its own socket directory, so all can share it.
	clusterPort = 5433
	// superuser is the role initdb creates (-U) and tests connect as (--auth=trust).
	superuser = "postgres"
	// readyTimeout bounds both pg_ctl start -w and the ping loop after it.
	readyTimeout = 30 * time.Second
	// maxSocketPath is the longest unix socket path we allow (sun_path is 108 bytes).
	maxSocketPath = 100
)

// pgBinGlob is where Debian/Ubuntu install PostgreSQL server binaries, one dir per version.
const pgBinGlob = "/usr/lib/postgresql/*/bin"

// current is the test binary's Postgres state, set only by Main. This is test support
// code, so a package-level variable is acceptable here.
var current *env

// env is where per-test databases are created: an external server or a throwaway cluster.
type env struct {
	externalURL string // PINGDECK_TEST_DATABASE_URL, if set

	once sync.Once // runs setup on the first PostgresURL call

	mu      sync.Mutex    // guards everything below (setup vs. teardown on a signal)
	closed  bool          // teardown has run; no new cluster may start
	err     error         // why there is no Postgres (set by setup)
	admin   *sql.DB       // connection to the server's maintenance database
	base    *url.URL      // URL whose path is replaced by each test's database name
	startup time.Duration // how long setup took
	cl      *cluster      // nil when using an external server
}

// cluster is a throwaway PostgreSQL cluster started by this process.
type cluster struct {
	dir   string              // temp dir: socket, log, and data/
	pgCtl string              // pg_ctl binary
	cred  *syscall.Credential // non-nil when running as root: whom to run initdb/pg_ctl as
}

// Main runs the package's tests with a throwaway PostgreSQL cluster available to
// PostgresURL, and exits with m.Run's code (or 1 if the cluster could not be stopped).
// Call it from TestMain:
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
//
// If PINGDECK_TEST_DATABASE_URL is set, no cluster is started and that server is used
// (it must be PostgreSQL 13 or newer, for DROP DATABASE … WITH (FORCE)).
// Otherwise initdb/pg_ctl (on PATH, or under /usr/lib/postgresql/*/bin, newest version
// first) create a cluster in a fresh temp dir that listens only on a unix socket there.
// The cluster is started lazily, by the first test that asks for a database, and after
// m.Run (or on SIGINT/SIGTERM) it is stopped with pg_ctl stop -m immediate and its temp
// dir removed.
func Main(m *testing.M) {
	e := &env{externalURL: os.Getenv(EnvDatabaseURL)}
	current = e

	// pg_ctl detaches the server into its own session, so ^C would not reach it:
	// stop it ourselves, then die of the same signal. Signals we were started with
	// ignored (as in a background job) stay ignored.
	sigs := make(chan os.Signal, 1)
	for _, s := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		if !signal.Ignored(s) {
			signal.Notify(sigs, s)
		}
	}
	go func() {
		sig := <-sigs
		if err := e.teardown(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		signal.Reset(sig)
		if s, ok := sig.(syscall.Signal); ok {
			_ = syscall.Kill(os.Getpid(), s)
		}
		os.Exit(1)
	}()

	code := m.Run()
	signal.Stop(sigs)
	if err := e.teardown(); err != nil {
		// A leaked server is a bug worth failing for: it outlives the test run.
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// PostgresURL returns a postgres:// URL, usable by pgx and gorm's postgres driver, of a
// brand-new empty database created for this test and dropped (WITH (FORCE)) in
// t.Cleanup. For the throwaway cluster it looks like
// postgres://postgres@/t_0123456789abcdef?host=/tmp/pgt123&port=5433&sslmode=disable.
//
// When no PostgreSQL can be had (no PINGDECK_TEST_DATABASE_URL and no initdb/pg_ctl, or
// the cluster failed to start) it skips the test, or fails it if the environment
// variable CI is non-empty. It fails the test if Main was not called from TestMain.
func PostgresURL(t testing.TB) string {
	t.Helper()
	e := current
	if e == nil {
		t.Fatal("storetest: PostgresURL: no Postgres set up: call storetest.Main from TestMain")
	}
	started := false
	e.once.Do(func() {
		e.setup()
		started = true
	})
	e.mu.Lock()
	admin, base, err, startup, cl, closed := e.admin, e.base, e.err, e.startup, e.cl, e.closed
	e.mu.Unlock()
	if closed {
		t.Fatal("storetest: PostgreSQL already stopped: the test binary is exiting")
	}
	if err != nil {
		unavailable(t, err)
		return ""
	}
	if started && cl != nil {
		t.Logf("storetest: started throwaway PostgreSQL in %s (socket dir %s)", startup.Round(time.Millisecond), cl.dir)
	}

	name := "t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(name)); err != nil {
		t.Fatalf("storetest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("storetest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(base, name)
}

// unavailable skips t because there is no Postgres, or fails it when running in CI,
// where a missing database must not silently turn tests into skips.
func unavailable(t testing.TB, why error) {
	t.Helper()
	msg := fmt.Sprintf("no PostgreSQL for this test: %v", why)
	if os.Getenv("CI") != "" {
		t.Fatal("storetest: CI is set, so failing instead of skipping: " + msg)
	}
	t.Skip("storetest: " + msg)
}

// ForEachDB runs f as two parallel subtests, "sqlite" and "postgres", each with the
// DSN (--db form) of a fresh database, so both dialects are held to the same behaviour.
func ForEachDB(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, "sqlite:"+filepath.Join(t.TempDir(), "test.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		f(t, PostgresURL(t))
	})
}

// setup connects to the external server or starts the throwaway cluster, recording
// the outcome in e.
func (e *env) setup() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		e.err = errors.New("storetest: test binary is shutting down")
		return
	}
	start := time.Now()
	if e.externalURL != "" {
		e.err = e.connectExternal()
	} else {
		e.err = e.startCluster()
	}
	e.startup = time.Since(start)
}

// connectExternal uses the server at PINGDECK_TEST_DATABASE_URL.
func (e *env) connectExternal() error {
	u, err := url.Parse(e.externalURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("storetest: %s must be a postgres:// URL, e.g. postgres://user:pass@localhost:5432/postgres?sslmode=disable", EnvDatabaseURL)
	}
	db, err := sql.Open("pgx", e.externalURL)
	if err != nil {
		return fmt.Errorf("storetest: open %s: %w", EnvDatabaseURL, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("storetest: connect to %s (%s): %w", EnvDatabaseURL, u.Redacted(), err)
	}
	e.admin, e.base = db, u
	return nil
}

// startCluster runs initdb and pg_ctl start in a fresh temp dir. On failure it leaves
// nothing behind.
func (e *env) startCluster() (err error) {
	initdb, pgCtl, err := findBinaries(pgBinGlob)
	if err != nil {
		return err
	}
	cl := &cluster{pgCtl: pgCtl}
	if cl.dir, err = makeTempDir(); err != nil {
		return err
	}
	e.cl = cl
	defer func() {
		if err != nil {
			if terr := e.teardownLocked(); terr != nil {
				err = fmt.Errorf("%w (and cleaning up: %v)", err, terr)
			}
		}
	}()
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		if cl.cred, err = unprivilegedUser(); err != nil {
			return err
		}
		if err := os.Chown(cl.dir, int(cl.cred.Uid), int(cl.cred.Gid)); err != nil {
			return fmt.Errorf("storetest: chown %s: %w", cl.dir, err)
		}
	}

	data := cl.dataDir()
	out, err := cl.run(initdb, "-D", data, "-U", superuser, "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return fmt.Errorf("storetest: initdb: %w\n%s", err, out)
	}
	if err := appendConfig(filepath.Join(data, "postgresql.conf"), cl.dir); err != nil {
		return err
	}
	out, err = cl.run(pgCtl, "start", "-D", data, "-l", cl.logFile(), "-w", "-t", strconv.Itoa(int(readyTimeout/time.Second)))
	if err != nil {
		return fmt.Errorf("storetest: pg_ctl start: %w\n%s\nserver log:\n%s", err, out, cl.serverLog())
	}

	base := &url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Path:     "/postgres",
		RawQuery: "host=" + queryEscapeKeepSlash(cl.dir) + "&port=" + strconv.Itoa(clusterPort) + "&sslmode=disable",
	}
	db, err := sql.Open("pgx", base.String())
	if err != nil {
		return fmt.Errorf("storetest: open admin connection: %w", err)
	}
	e.admin, e.base = db, base
	if err := waitReady(db); err != nil {
		return fmt.Errorf("storetest: %w\nserver log:\n%s", err, cl.serverLog())
	}
	return nil
}

// waitReady pings db until it answers, for up to readyTimeout.
func waitReady(db *sql.DB) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %s: %w", readyTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// teardown stops the throwaway cluster (if any) and removes its temp dir. It is safe to
// call more than once, and from a signal handler while a test is starting the cluster.
func (e *env) teardown() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	return e.teardownLocked()
}

// teardownLocked does teardown's work with e.mu held.
func (e *env) teardownLocked() error {
	var errs []error
	if e.admin != nil {
		if err := e.admin.Close(); err != nil {
			errs = append(errs, fmt.Errorf("storetest: close admin connection: %w", err))
		}
		e.admin = nil
	}
	if cl := e.cl; cl != nil {
		e.cl = nil
		if err := cl.stop(); err != nil {
			errs = append(errs, err)
		}
		if err := os.RemoveAll(cl.dir); err != nil {
			errs = append(errs, fmt.Errorf("storetest: remove %s: %w", cl.dir, err))
		}
	}
	return errors.Join(errs...)
}

func (cl *cluster) dataDir() string { return filepath.Join(cl.dir, "data") }
func (cl *cluster) logFile() string { return filepath.Join(cl.dir, "postgres.log") }

// serverLog returns the server's log, for error messages.
func (cl *cluster) serverLog() string {
	b, err := os.ReadFile(cl.logFile())
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	return string(b)
}

// stop shuts the server down at once (pg_ctl stop -m immediate), if it is running. If
// pg_ctl fails, it sends the postmaster SIGQUIT (immediate shutdown) itself.
func (cl *cluster) stop() error {
	pidFile := filepath.Join(cl.dataDir(), "postmaster.pid")
	if _, err := os.Stat(pidFile); errors.Is(err, fs.ErrNotExist) {
		return nil // never started, or already stopped
	}
	out, err := cl.run(cl.pgCtl, "stop", "-D", cl.dataDir(), "-m", "immediate", "-w", "-t", "30")
	if err == nil {
		return nil
	}
	stopErr := fmt.Errorf("storetest: pg_ctl stop: %w\n%s", err, out)
	b, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		if errors.Is(rerr, fs.ErrNotExist) {
			return nil // it stopped after all
		}
		return errors.Join(stopErr, rerr)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, perr := strconv.Atoi(strings.TrimSpace(first))
	if perr != nil || pid <= 1 {
		return errors.Join(stopErr, fmt.Errorf("storetest: bad pid in %s: %q", pidFile, first))
	}
	if kerr := syscall.Kill(pid, syscall.SIGQUIT); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
		return errors.Join(stopErr, fmt.Errorf("storetest: kill postmaster %d: %w", pid, kerr))
	}
	return nil
}

// run runs a PostgreSQL binary in the cluster's dir, as the unprivileged user when we are
// root, with no PG* variables from our environment, and returns its combined output.
func (cl *cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = cl.dir
	cmd.Env = cleanEnv()
	if cl.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cl.cred}
	}
	// pg_ctl start -l sends the server's output to the log file; should a server ever
	// hold our output pipe open anyway, do not wait for it forever.
	cmd.WaitDelay = 5 * time.Second
	return cmd.CombinedOutput()
}

// cleanEnv is our environment without PG* variables (PGDATA, PGPORT, PGHOST, …), which
// would otherwise steer initdb, pg_ctl or the server.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// appendConfig makes the cluster listen only on a unix socket in socketDir, and trades
// durability for speed.
func appendConfig(path, socketDir string) error {
	conf := fmt.Sprintf(`
# storetest: throwaway test cluster
listen_addresses = ''
unix_socket_directories = '%s'
port = %d
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
`, strings.ReplaceAll(socketDir, "'", "''"), clusterPort)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("storetest: configure cluster: %w", err)
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return fmt.Errorf("storetest: configure cluster: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("storetest: configure cluster: %w", err)
	}
	return nil
}

// makeTempDir makes the cluster's dir under os.TempDir(), or under /tmp if that path
// would make the socket path too long for a unix socket.
func makeTempDir() (string, error) {
	parent := os.TempDir()
	// MkdirTemp adds up to 20 digits; the socket is <dir>/.s.PGSQL.5433.
	if len(parent)+len("/pgt")+20+len("/.s.PGSQL.")+5 > maxSocketPath {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "pgt")
	if err != nil {
		return "", fmt.Errorf("storetest: make cluster dir: %w", err)
	}
	return dir, nil
}

// unprivilegedUser returns the credential of the postgres system user, or else nobody.
func unprivilegedUser() (*syscall.Credential, error) {
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("storetest: user %s: uid %q: %w", name, u.Uid, err)
		}
		gid, err := strconv.ParseUint(u.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("storetest: user %s: gid %q: %w", name, u.Gid, err)
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("storetest: running as root, and no postgres or nobody user to run initdb as: %w", errors.Join(errs...))
}

// findBinaries finds initdb and pg_ctl: on PATH (pg_ctl preferably beside initdb, so the
// versions match), else in the newest version dir matching glob
// (/usr/lib/postgresql/*/bin).
func findBinaries(glob string) (initdb, pgCtl string, err error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if beside := filepath.Join(filepath.Dir(initdb), "pg_ctl"); isExecutable(beside) {
			return initdb, beside, nil
		}
		if pgCtl, err := exec.LookPath("pg_ctl"); err == nil {
			return initdb, pgCtl, nil
		}
	}
	dirs, _ := filepath.Glob(glob)
	sort.SliceStable(dirs, func(i, j int) bool {
		return versionLess(pgVersion(dirs[j]), pgVersion(dirs[i]))
	})
	for _, d := range dirs {
		initdb, pgCtl := filepath.Join(d, "initdb"), filepath.Join(d, "pg_ctl")
		if isExecutable(initdb) && isExecutable(pgCtl) {
			return initdb, pgCtl, nil
		}
	}
	return "", "", fmt.Errorf("no %s set, and no initdb/pg_ctl found on PATH or under %s "+
		"(install the PostgreSQL server, or set %s to a server where the user may create databases)",
		EnvDatabaseURL, glob, EnvDatabaseURL)
}

// pgVersion parses the version dir above a bin dir: ".../postgresql/9.6/bin" → [9 6].
// A dir that is not a version sorts last.
func pgVersion(binDir string) []int {
	var v []int
	for _, part := range strings.Split(filepath.Base(filepath.Dir(binDir)), ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil
		}
		v = append(v, n)
	}
	return v
}

// versionLess orders versions numerically, component by component.
func versionLess(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// withDatabase returns base with its database name replaced by name.
func withDatabase(base *url.URL, name string) string {
	u := *base
	u.Path = "/" + name
	u.RawPath = ""
	if u.RawQuery != "" {
		q := u.Query()
		if q.Has("dbname") {
			q.Del("dbname") // a dbname parameter would override the path
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// queryEscapeKeepSlash escapes s for a URL query, leaving slashes readable.
func queryEscapeKeepSlash(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("storetest: crypto/rand: %v", err)) // never happens on Linux
	}
	return hex.EncodeToString(b)
}
