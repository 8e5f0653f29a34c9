package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/auth"
)

// statusCount tallies the answers of parallel requests.
type statusCount struct {
	mu          sync.Mutex
	byStatus    map[int]int
	noRetryHint int // 429 answers without a Retry-After header
}

func (s *statusCount) String() string { return fmt.Sprint(s.byStatus) }

// loginAll sends every login at once, each from its own client (cookie jar) and
// X-Forwarded-For address (the harness trusts 127.0.0.1 as a proxy), and tallies the
// answers.
func loginAll(e *env, addrs []string, bodies []map[string]string) *statusCount {
	out := &statusCount{byStatus: map[int]int{}}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range bodies {
		c := e.anon()
		c.header.Set("X-Forwarded-For", addrs[i])
		wg.Go(func() {
			<-start
			status, _, resp := c.do("POST", "/api/v1/auth/login", bodies[i])
			out.mu.Lock()
			defer out.mu.Unlock()
			out.byStatus[status]++
			if status == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
				out.noRetryHint++
			}
		})
	}
	close(start)
	wg.Wait()
	return out
}

func sameAddr(n int, addr string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = addr
	}
	return out
}

func guesses(n int, username string) []map[string]string {
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = map[string]string{"username": username, "password": fmt.Sprintf("guess-%d", i)}
	}
	return out
}

// loginTestAccounts keeps the limits from refilling while a test runs on a slow machine,
// and makes the hash slow enough (cost 6, ~4 ms) that attempts checked and counted in
// two steps would overlap and slip past the limit.
func loginTestAccounts(o *auth.Options) { o.LoginRefill, o.BcryptCost = time.Hour, 6 }

// TestLoginParallelGuessesOverHTTP: 100 wrong guesses at once from one address reach
// the password hash 5 times (the burst); the other 95 answer 429 with Retry-After. Then,
// with the account locked, 60 guesses at once from 60 addresses, one of them the right
// password, all answer 429 and none is checked.
func TestLoginParallelGuessesOverHTTP(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{trusted: []string{"127.0.0.1"}, accounts: loginTestAccounts})
	before := e.accounts.PasswordChecks()
	got := loginAll(e, sameAddr(100, "192.0.2.1"), guesses(100, "admin"))
	checks := e.accounts.PasswordChecks() - before
	if got.byStatus[401] != 5 || got.byStatus[429] != 95 || got.noRetryHint != 0 || checks != 5 {
		t.Fatalf("100 parallel wrong guesses from one address: statuses %v (%d 429s without Retry-After), %d password checks; want 5×401, 95×429, 5 checks",
			got, got.noRetryHint, checks)
	}

	before = e.accounts.PasswordChecks()
	var addrs []string
	bodies := guesses(60, "admin")
	bodies[37]["password"] = adminPassword
	for i := range 60 {
		addrs = append(addrs, fmt.Sprintf("198.51.100.%d", i+1))
	}
	got = loginAll(e, addrs, bodies)
	if got.byStatus[429] != 60 || got.noRetryHint != 0 {
		t.Fatalf("60 parallel guesses (one right) at the locked account from 60 addresses: statuses %v; want 60×429", got)
	}
	if checks := e.accounts.PasswordChecks() - before; checks != 0 {
		t.Fatalf("%d guesses at a locked account reached the password hash", checks)
	}
}

// TestDeviceCookieAndUnlockOverHTTP: a browser that signed in before keeps signing in
// while strangers' guesses lock the account (strangers get 429 even with the right
// password), and an administrator can lift the lockout.
func TestDeviceCookieAndUnlockOverHTTP(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{trusted: []string{"127.0.0.1"}, accounts: loginTestAccounts})
	e.user("bob")
	alice := e.user("alice")
	alice.header.Set("X-Forwarded-For", "203.0.113.7")
	status, raw, resp := alice.do("POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": "alice-pass"})
	if status != 200 {
		t.Fatalf("alice signs in: %d %s", status, raw)
	}
	var device *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "pingdeck_device" {
			device = ck
		}
	}
	if device == nil || !device.HttpOnly || device.SameSite != http.SameSiteStrictMode || device.Path != "/api/v1/auth/login" ||
		device.MaxAge != 365*24*3600 || device.Secure {
		t.Fatalf("device cookie = %+v; want HttpOnly, SameSite=Strict, Path=/api/v1/auth/login, a year, not Secure over plain HTTP", device)
	}

	var addrs []string
	for i := range 20 {
		addrs = append(addrs, fmt.Sprintf("198.51.100.%d", i+1))
	}
	if got := loginAll(e, addrs, guesses(20, "alice")); got.byStatus[401] != 5 || got.byStatus[429] != 15 {
		t.Fatalf("20 guesses from 20 addresses: %v; want 5×401 then 15×429", got)
	}
	stranger := e.anon()
	stranger.header.Set("X-Forwarded-For", "192.0.2.50")
	right := map[string]string{"username": "alice", "password": "alice-pass"}
	status, raw, resp = stranger.do("POST", "/api/v1/auth/login", right)
	if status != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(raw), "unlock") {
		t.Fatalf("the right password from a new device during the lockout: %d %s (Retry-After %q); want 429 saying an administrator can unlock it",
			status, raw, resp.Header.Get("Retry-After"))
	}
	alice.mustJSON("POST", "/api/v1/auth/login", right, 200, nil)
	alice.header.Set("X-Forwarded-For", "198.51.100.1") // even from an attacker's address
	alice.mustJSON("POST", "/api/v1/auth/login", right, 200, nil)

	admin, bob := e.login("admin"), e.login("bob")
	bob.mustError("POST", "/api/v1/users/alice/unlock", nil, 403, "forbidden", "")
	admin.mustError("POST", "/api/v1/users/nobody/unlock", nil, 404, "not_found", "username")
	stranger.mustError("POST", "/api/v1/auth/login", right, 429, "rate_limited", "")
	if status, raw, _ := admin.do("POST", "/api/v1/users/Alice/unlock", nil); status != 204 {
		t.Fatalf("admin unlocks alice: %d %s", status, raw)
	}
	stranger.mustJSON("POST", "/api/v1/auth/login", right, 200, nil)
}
