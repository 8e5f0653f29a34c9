package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// eachDB runs f against a fresh SQLite file and a fresh Postgres database, so both
// dialects are held to the same behaviour.
func eachDB(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Helper()
	dsns := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "test.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresURL(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openTest(t, dsns[name](t))
			f(t, s)
		})
	}
}

func openTest(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, Options{Migrate: true})
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// µs truncates to the precision both databases keep.
func µs(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func newUser(t *testing.T, s *Store, name string) *auth.User {
	t.Helper()
	u := &auth.User{ID: uuid.NewString(), Username: name, PasswordHash: "x", CreatedAt: µs(time.Now())}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func TestParseDSN(t *testing.T) {
	tests := []struct {
		in      string
		dialect Dialect
		conn    string
		wantErr string
	}{
		{"sqlite:data/x.db", SQLite, "data/x.db", ""},
		{"sqlite:///abs/x.db", SQLite, "/abs/x.db", ""},
		{"postgres://u:p@h/db", Postgres, "postgres://u:p@h/db", ""},
		{"postgresql://h/db", Postgres, "postgresql://h/db", ""},
		{"sqlite:", "", "", "file path"},
		{"mysql://u:secret@h/db", "", "", "must start with"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, conn, err := ParseDSN(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil || d != tt.dialect || conn != tt.conn {
				t.Fatalf("got %q %q %v", d, conn, err)
			}
		})
	}
}

func TestSQLitePragmas(t *testing.T) {
	s := openTest(t, "sqlite:"+filepath.Join(t.TempDir(), "p.db"))
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		if err := s.db.Raw("PRAGMA " + pragma).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

func TestMigrateFlag(t *testing.T) {
	dsns := map[string]string{
		"sqlite":   "sqlite:" + filepath.Join(t.TempDir(), "m.db"),
		"postgres": storetest.PostgresURL(t),
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			_, err := Open(ctx, dsn, Options{Migrate: false})
			if err == nil || !strings.Contains(err.Error(), "--migrate=true") {
				t.Fatalf("opening an unmigrated database without --migrate: err = %v, want a refusal naming --migrate=true", err)
			}
			s := openTest(t, dsn)
			cur, latest, err := s.SchemaVersions(ctx)
			if err != nil || cur != latest || latest < 1 {
				t.Fatalf("after migrate: current %d latest %d err %v", cur, latest, err)
			}
			s.Close()
			s2, err := Open(ctx, dsn, Options{Migrate: false})
			if err != nil {
				t.Fatalf("reopen a current schema without --migrate: %v", err)
			}
			s2.Close()
		})
	}
}

func TestUsers(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := newUser(t, s, "alice")
		newUser(t, s, "bob")
		err := s.CreateUser(ctx, &auth.User{ID: uuid.NewString(), Username: "alice", PasswordHash: "y", CreatedAt: time.Now()})
		if !errors.Is(err, groups.ErrConflict) {
			t.Fatalf("duplicate username: err = %v, want conflict", err)
		}
		got, err := s.UserByUsername(ctx, "alice")
		if err != nil || got.ID != alice.ID || !got.CreatedAt.Equal(alice.CreatedAt) {
			t.Fatalf("UserByUsername = %+v, %v; want %+v", got, err, alice)
		}
		if _, err := s.UserByUsername(ctx, "nobody"); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("missing user: err = %v, want not found", err)
		}
		n, err := s.CountUsers(ctx)
		if err != nil || n != 2 {
			t.Fatalf("CountUsers = %d, %v", n, err)
		}
		list, err := s.ListUsers(ctx)
		if err != nil || len(list) != 2 || list[0].Username != "alice" || list[1].Username != "bob" {
			t.Fatalf("ListUsers = %+v, %v", list, err)
		}
	})
}

func TestSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := newUser(t, s, "alice")
		now := µs(time.Now())
		live := &auth.Session{ID: "live", UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		dead := &auth.Session{ID: "dead", UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(-time.Second)}
		for _, sess := range []*auth.Session{live, dead} {
			if err := s.CreateSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
		}
		sess, user, err := s.SessionUser(ctx, "live", now)
		if err != nil || user.ID != u.ID || !sess.ExpiresAt.Equal(live.ExpiresAt) {
			t.Fatalf("SessionUser(live) = %+v %+v %v", sess, user, err)
		}
		if _, _, err := s.SessionUser(ctx, "dead", now); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("expired session: err = %v, want not found", err)
		}
		if _, _, err := s.SessionUser(ctx, "live", now.Add(2*time.Hour)); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("session after its expiry: err = %v, want not found", err)
		}
		if err := s.TouchSession(ctx, "live", now.Add(time.Minute), now.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionUser(ctx, "live", now.Add(2*time.Hour)); err != nil {
			t.Fatalf("touched session should live longer: %v", err)
		}
		if n, err := s.DeleteExpiredSessions(ctx, now); err != nil || n != 1 {
			t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
		}
		if err := s.DeleteSession(ctx, "live"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionUser(ctx, "live", now); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("deleted session: err = %v", err)
		}
	})
}

func TestTokens(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
		now := µs(time.Now())
		past := now.Add(-time.Minute)
		forever := &auth.Token{ID: uuid.NewString(), UserID: alice.ID, Name: "ci", Hash: "h1", CreatedAt: now}
		expired := &auth.Token{ID: uuid.NewString(), UserID: alice.ID, Name: "old", Hash: "h2", CreatedAt: past, ExpiresAt: &past}
		for _, tok := range []*auth.Token{forever, expired} {
			if err := s.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		tok, u, err := s.TokenUser(ctx, "h1", now)
		if err != nil || u.ID != alice.ID || tok.ID != forever.ID || tok.LastUsedAt != nil {
			t.Fatalf("TokenUser = %+v %+v %v", tok, u, err)
		}
		if _, _, err := s.TokenUser(ctx, "h2", now); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("expired token: err = %v", err)
		}
		if err := s.TouchToken(ctx, forever.ID, now); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListTokens(ctx, alice.ID)
		if err != nil || len(list) != 2 || list[0].ID != forever.ID || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(now) {
			t.Fatalf("ListTokens = %+v, %v", list, err)
		}
		if err := s.DeleteToken(ctx, bob.ID, forever.ID); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("deleting another user's token: err = %v, want not found", err)
		}
		if err := s.DeleteToken(ctx, alice.ID, forever.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.TokenUser(ctx, "h1", now); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("revoked token still works: %v", err)
		}
	})
}
