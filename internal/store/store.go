// Package store keeps pingdeck's state in SQLite (embedded default) or PostgreSQL, with
// gorm. Its row types are private; it returns domain types from internal/groups and
// internal/auth, and errors that wrap the domain's error kinds.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"pingdeck/internal/groups"
)

// Dialect names the database behind a Store.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options control how a Store is opened.
type Options struct {
	// Migrate applies pending schema migrations at open. When false, Open refuses a
	// database whose schema is older than this binary.
	Migrate bool
	Logger  *slog.Logger
	// Changes is told of every committed change to what someone sees or what is
	// probed (see publish); nil tells nobody.
	Changes Publisher
	// OwnLocation is the location of the server's own prober (--location; "local" when
	// empty): a group that names no location is probed from there.
	OwnLocation string
}

// Publisher is told of each committed change, once, right after its commit. Publish
// must not block. groups.Fanout is the in-process one.
type Publisher interface {
	Publish(groups.Change)
}

var _ Publisher = (*groups.Fanout)(nil)

// Store is pingdeck's database.
type Store struct {
	db      *gorm.DB
	dialect Dialect
	changes Publisher
	// locations are the result locations known to be in probe_locations.
	locations *locationRegistry
	open      *openBlocks // results held until their blocks close
	// ownLocation is Options.OwnLocation.
	ownLocation string
}

// ParseDSN splits a --db value into its dialect and the driver's DSN. It accepts
// "sqlite:PATH" and "postgres://…" / "postgresql://…".
func ParseDSN(dsn string) (Dialect, string, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return "", "", fmt.Errorf("sqlite: needs a file path, e.g. sqlite:./data/pingdeck.db")
		}
		return SQLite, path, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return Postgres, dsn, nil
	}
	return "", "", fmt.Errorf("must start with sqlite: or postgres://, got %q", redact(dsn))
}

// redact hides a password in a URL-ish DSN for error messages.
func redact(dsn string) string {
	if at := strings.LastIndex(dsn, "@"); at > 0 {
		if scheme := strings.Index(dsn, "://"); scheme > 0 && scheme < at {
			return dsn[:scheme+3] + "…@" + dsn[at+1:]
		}
	}
	return dsn
}

// Open connects to the database named by dsn and brings its schema up to date (or
// checks it is, when o.Migrate is false).
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	dialect, conn, err := ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: --db: %w", err)
	}
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		TranslateError:         true,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	var db *gorm.DB
	switch dialect {
	case SQLite:
		if err := os.MkdirAll(filepath.Dir(conn), 0o750); err != nil {
			return nil, fmt.Errorf("store: create database directory: %w", err)
		}
		// SQLite spends most of a small query parsing and planning it: keep each
		// statement prepared (pgx already does this for Postgres). The TTL is gorm's
		// "never expire": with any other, gorm starts an expiry goroutine nothing stops.
		cfg.PrepareStmt, cfg.PrepareStmtMaxSize, cfg.PrepareStmtTTL = true, 256, preparedStmtNoExpiry
		db, err = gorm.Open(sqlite.Open(sqliteDSN(conn)), cfg)
	case Postgres:
		db, err = gorm.Open(postgres.Open(conn), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dialect, err)
	}
	s := &Store{db: db, dialect: dialect, changes: o.Changes, locations: newLocationRegistry(), open: newOpenBlocks(), ownLocation: o.OwnLocation}
	if s.ownLocation == "" {
		s.ownLocation = groups.DefaultOwnLocation
	}
	if err := s.configurePool(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", redact(dsn), err)
	}
	if err := s.migrate(ctx, o); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// preparedStmtNoExpiry is the statement TTL gorm treats as no expiry (10 years).
const preparedStmtNoExpiry = 10 * 365 * 24 * time.Hour

// sqliteDSN turns on WAL (readers do not block the writer), foreign keys, a busy
// timeout, and immediate write transactions so concurrent writers queue instead of failing.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

func (s *Store) configurePool() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("store: pool: %w", err)
	}
	if s.dialect == SQLite {
		// One file, one writer at a time: a small pool avoids piling up busy waits.
		sqlDB.SetMaxOpenConns(4)
	} else {
		sqlDB.SetMaxOpenConns(20)
	}
	sqlDB.SetMaxIdleConns(4)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	return nil
}

// Dialect reports which database this is.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close releases the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// publish announces a committed change. Every method that commits a change to what
// someone sees (groups, targets, shares, pins, notifications, credentials, accounts) or
// to what is probed calls it once, after the commit and only when something changed.
func (s *Store) publish(c groups.Change) {
	if s.changes != nil {
		s.changes.Publish(c)
	}
}

// translate maps driver errors to domain error kinds, keeping the original for logs.
func translate(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("store: %s: %w: %w", op, groups.ErrConflict, err)
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("store: %s: %w", op, groups.ErrNotFound)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		// What the row refers to (a group, a user) was deleted meanwhile.
		return fmt.Errorf("store: %s: %w: %w", op, groups.ErrNotFound, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
