package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed migrations
var migrations embed.FS

func (s *Store) migrationProvider() (*goose.Provider, error) {
	dir, err := fs.Sub(migrations, "migrations/"+string(s.dialect))
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(dialect, sqlDB, dir, goose.WithGoMigrations(s.blocksMigration()))
}

// SchemaVersions reports the database's schema version and the newest this binary knows.
func (s *Store) SchemaVersions(ctx context.Context) (current, latest int64, err error) {
	p, err := s.migrationProvider()
	if err != nil {
		return 0, 0, fmt.Errorf("store: migrations: %w", err)
	}
	return versions(ctx, p)
}

func versions(ctx context.Context, p *goose.Provider) (current, latest int64, err error) {
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: read schema version: %w", err)
	}
	sources := p.ListSources()
	if len(sources) > 0 {
		latest = sources[len(sources)-1].Version
	}
	return current, latest, nil
}

func (s *Store) migrate(ctx context.Context, o Options) error {
	if s.dialect == Postgres {
		// Replicas starting together take turns: one migrates, the others then find
		// the schema current.
		sqlDB, err := s.db.DB()
		if err != nil {
			return fmt.Errorf("store: migrations: %w", err)
		}
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			return fmt.Errorf("store: migrations: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext('pingdeck.migrate'))"); err != nil {
			return fmt.Errorf("store: lock for migrations: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext('pingdeck.migrate'))")
	}
	p, err := s.migrationProvider()
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	current, latest, err := versions(ctx, p)
	if err != nil {
		return err
	}
	switch {
	case current > latest:
		return fmt.Errorf("store: the database schema is at version %d, newer than this pingdeck (%d); run a newer pingdeck", current, latest)
	case current == latest:
		return nil
	case !o.Migrate:
		return fmt.Errorf("store: the database schema is at version %d but this pingdeck needs %d; start with --migrate=true to upgrade it", current, latest)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if o.Logger != nil {
		for _, r := range results {
			o.Logger.Info("applied migration", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
		}
	}
	return nil
}
