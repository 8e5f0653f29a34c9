package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newService(t *testing.T) (*auth.Service, *store.Store, *clock) {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "a.db"), store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{now: time.Now()}
	return auth.NewService(st, auth.Options{BcryptCost: bcrypt.MinCost, Now: clk.Now}), st, clk
}

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	t.Run("generated password is returned once and works", func(t *testing.T) {
		svc, _, _ := newService(t)
		created, pw, err := svc.Bootstrap(ctx, "")
		if err != nil || !created || len(pw) < 16 {
			t.Fatalf("Bootstrap = %v %q %v", created, pw, err)
		}
		if _, _, err := svc.Login(ctx, "admin", pw, "192.0.2.1"); err != nil {
			t.Fatalf("login with the generated password: %v", err)
		}
		created, pw2, err := svc.Bootstrap(ctx, "")
		if err != nil || created || pw2 != "" {
			t.Fatalf("second Bootstrap = %v %q %v; want nothing done", created, pw2, err)
		}
	})
	t.Run("configured password", func(t *testing.T) {
		svc, _, _ := newService(t)
		created, pw, err := svc.Bootstrap(ctx, "correct horse")
		if err != nil || !created || pw != "" {
			t.Fatalf("Bootstrap = %v %q %v", created, pw, err)
		}
		token, u, err := svc.Login(ctx, "ADMIN", "correct horse", "192.0.2.1")
		if err != nil || !u.IsAdmin || token == "" {
			t.Fatalf("login = %q %+v %v", token, u, err)
		}
	})
}

func TestCreateUserValidation(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	tests := []struct {
		user  auth.NewUser
		field string
	}{
		{auth.NewUser{Username: "a", Password: "long enough"}, "username"},
		{auth.NewUser{Username: "has space", Password: "long enough"}, "username"},
		{auth.NewUser{Username: "-dash", Password: "long enough"}, "username"},
		{auth.NewUser{Username: "carol", Password: "short"}, "password"},
		{auth.NewUser{Username: "carol", Password: strings.Repeat("x", 73)}, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.user.Username+"/"+tt.field, func(t *testing.T) {
			_, err := svc.CreateUser(ctx, tt.user)
			var de *groups.Error
			if !errors.As(err, &de) || de.Field != tt.field || !errors.Is(err, groups.ErrInvalid) {
				t.Fatalf("err = %v, want invalid %s", err, tt.field)
			}
		})
	}
	if _, err := svc.CreateUser(ctx, auth.NewUser{Username: "Carol", Password: "long enough"}); err != nil {
		t.Fatal(err)
	}
	_, err := svc.CreateUser(ctx, auth.NewUser{Username: "carol", Password: "long enough"})
	if !errors.Is(err, groups.ErrConflict) {
		t.Fatalf("duplicate (case-insensitive) username: err = %v", err)
	}
}

func TestSessionsAndLogout(t *testing.T) {
	svc, _, clk := newService(t)
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, auth.NewUser{Username: "alice", Password: "alice-pass"}); err != nil {
		t.Fatal(err)
	}
	first, _, err := svc.Login(ctx, "alice", "alice-pass", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := svc.Login(ctx, "alice", "alice-pass", "192.0.2.1")
	if err != nil || second == first {
		t.Fatalf("each login must mint a new session token: %q %q %v", first, second, err)
	}
	if u, err := svc.SessionUser(ctx, first); err != nil || u.Username != "alice" {
		t.Fatalf("SessionUser = %+v, %v", u, err)
	}
	if err := svc.Logout(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SessionUser(ctx, first); !errors.Is(err, groups.ErrUnauthenticated) {
		t.Fatalf("after logout: err = %v, want unauthenticated", err)
	}
	// Idle sessions expire; active ones are extended.
	for range 20 {
		clk.Add(24 * time.Hour)
		if _, err := svc.SessionUser(ctx, second); err != nil {
			t.Fatalf("an active session expired: %v", err)
		}
	}
	clk.Add(15 * 24 * time.Hour)
	if _, err := svc.SessionUser(ctx, second); !errors.Is(err, groups.ErrUnauthenticated) {
		t.Fatalf("idle session: err = %v, want unauthenticated", err)
	}
}

func TestLoginRateLimit(t *testing.T) {
	svc, _, clk := newService(t)
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, auth.NewUser{Username: "alice", Password: "alice-pass"}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, _, err := svc.Login(ctx, "alice", "wrong", "192.0.2.1"); !errors.Is(err, groups.ErrUnauthenticated) {
			t.Fatalf("attempt %d: err = %v, want unauthenticated", i, err)
		}
	}
	_, _, err := svc.Login(ctx, "alice", "alice-pass", "192.0.2.1")
	var de *groups.Error
	if !errors.Is(err, groups.ErrRateLimited) || !errors.As(err, &de) || de.Details["retry_after_seconds"] == nil {
		t.Fatalf("6th attempt: err = %v, want rate limited with retry_after_seconds", err)
	}
	// Another address guessing the same account is also held back.
	if _, _, err := svc.Login(ctx, "alice", "alice-pass", "198.51.100.7"); !errors.Is(err, groups.ErrRateLimited) {
		t.Fatalf("same user from another address: err = %v, want rate limited", err)
	}
	clk.Add(13 * time.Second)
	if _, _, err := svc.Login(ctx, "alice", "alice-pass", "192.0.2.1"); err != nil {
		t.Fatalf("after the refill interval the right password works: %v", err)
	}
}

func TestTokens(t *testing.T) {
	svc, _, clk := newService(t)
	ctx := context.Background()
	u, err := svc.CreateUser(ctx, auth.NewUser{Username: "alice", Password: "alice-pass"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateToken(ctx, u.ID, " ", 0); !errors.Is(err, groups.ErrInvalid) {
		t.Fatalf("blank name: err = %v", err)
	}
	secret, tok, err := svc.CreateToken(ctx, u.ID, "ci", time.Hour)
	if err != nil || !strings.HasPrefix(secret, auth.TokenPrefix) || strings.Contains(tok.Hash, secret) {
		t.Fatalf("CreateToken = %q %+v %v", secret, tok, err)
	}
	if got, err := svc.TokenUser(ctx, secret); err != nil || got.ID != u.ID {
		t.Fatalf("TokenUser = %+v, %v", got, err)
	}
	if _, err := svc.TokenUser(ctx, secret+"x"); !errors.Is(err, groups.ErrUnauthenticated) {
		t.Fatalf("wrong token: err = %v", err)
	}
	clk.Add(2 * time.Hour)
	if _, err := svc.TokenUser(ctx, secret); !errors.Is(err, groups.ErrUnauthenticated) {
		t.Fatalf("expired token: err = %v", err)
	}
	secret2, tok2, err := svc.CreateToken(ctx, u.ID, "forever", 0)
	if err != nil || tok2.ExpiresAt != nil {
		t.Fatal(err)
	}
	if err := svc.RevokeToken(ctx, u.ID, tok2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.TokenUser(ctx, secret2); !errors.Is(err, groups.ErrUnauthenticated) {
		t.Fatalf("revoked token: err = %v", err)
	}
}
