package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
)

// Results are keyed by (target, location, time). Reads that span every location name
// the locations results were stored from (probe_locations), so the database walks the
// key as ranges, one per target and location, instead of every row of a target:
// neither PostgreSQL before 18 nor SQLite skips over a key column by itself.

// resultLocation is where r was probed from as stored: "local" when the prober left
// it empty.
func resultLocation(r *ping.Result) string {
	if r.Location == "" {
		return groups.DefaultOwnLocation
	}
	return r.Location
}

// locationRegistry remembers which locations this process has seen in
// probe_locations, so the result writer registers a location once, with its first
// results.
type locationRegistry struct {
	mu    sync.Mutex
	known map[string]bool
}

func newLocationRegistry() *locationRegistry {
	return &locationRegistry{known: map[string]bool{}}
}

// unregistered lists the locations of rs not known to be registered yet, sorted.
func (l *locationRegistry) unregistered(rs []ping.Result) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for i := range rs {
		if loc := resultLocation(&rs[i]); !l.known[loc] && !slices.Contains(out, loc) {
			out = append(out, loc)
		}
	}
	slices.Sort(out)
	return out
}

// registered notes locations as stored in probe_locations (their transaction committed).
func (l *locationRegistry) registered(locations []string) {
	if len(locations) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, loc := range locations {
		l.known[loc] = true
	}
}

// pgRegisterLocations adds locations to probe_locations in tx.
func pgRegisterLocations(ctx context.Context, tx pgx.Tx, locations []string) error {
	if len(locations) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO probe_locations (location) SELECT * FROM unnest($1::text[]) ON CONFLICT DO NOTHING`, locations); err != nil {
		return fmt.Errorf("store: register locations: %w", err)
	}
	return nil
}

// sqliteRegisterLocations adds locations to probe_locations in tx.
func sqliteRegisterLocations(ctx context.Context, tx *sql.Tx, locations []string) error {
	for _, loc := range locations {
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO probe_locations (location) VALUES (?)", loc); err != nil {
			return fmt.Errorf("store: register locations: %w", err)
		}
	}
	return nil
}

// ResultLocations lists every location results were ever stored from, sorted.
func (s *Store) ResultLocations(ctx context.Context) ([]string, error) {
	var out []string
	if err := s.db.WithContext(ctx).Table("probe_locations").Order("location").Pluck("location", &out).Error; err != nil {
		return nil, translate("list result locations", err)
	}
	for _, loc := range s.open.locations() { // held, not stored yet
		if !slices.Contains(out, loc) {
			out = append(out, loc)
		}
	}
	slices.Sort(out)
	return out, nil
}

// readLocations is the locations a read covers: only location when one is named, else
// every location results were stored from.
func (s *Store) readLocations(ctx context.Context, location string) ([]string, error) {
	if location != "" {
		return []string{location}, nil
	}
	return s.ResultLocations(ctx)
}

// locationNames interns the location names read from rows: a row's name is looked up
// by its bytes, so reading millions of rows makes no string per row.
type locationNames map[string]string

func (n locationNames) of(b []byte) string {
	if name, ok := n[string(b)]; ok {
		return name
	}
	name := string(b)
	n[name] = name
	return name
}

// unregisteredNames lists the locations not known to be registered yet, sorted.
func (l *locationRegistry) unregisteredNames(locations []string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, loc := range locations {
		if !l.known[loc] && !slices.Contains(out, loc) {
			out = append(out, loc)
		}
	}
	slices.Sort(out)
	return out
}
