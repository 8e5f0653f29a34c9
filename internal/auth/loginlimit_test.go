package auth_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// limitedService is a service over a real SQLite store with users alice and bob
// (passwords alice-pass, bob-pass), on a clock that moves only when told. Its hash is
// cost 6 (~4 ms), slow enough that attempts checked and counted in two steps would
// overlap and slip past the limit (at the minimum cost they mostly do not).
func limitedService(t *testing.T, edit func(*auth.Options)) (*auth.Service, *clock) {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "a.db"), store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{now: time.Now()}
	o := auth.Options{BcryptCost: 6, Now: clk.Now}
	if edit != nil {
		edit(&o)
	}
	svc := auth.NewService(st, o)
	for _, name := range []string{"alice", "bob"} {
		if _, err := svc.CreateUser(context.Background(), auth.NewUser{Username: name, Password: name + "-pass"}); err != nil {
			t.Fatal(err)
		}
	}
	return svc, clk
}

// outcome tallies what a set of sign-in attempts got.
type outcome struct {
	mu                           sync.Mutex
	ok, wrong, limited, retryBad int
	devices                      []string
}

func (o *outcome) add(in *auth.SignedIn, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var de *groups.Error
	switch {
	case err == nil:
		o.ok++
		o.devices = append(o.devices, in.Device)
	case errors.Is(err, groups.ErrUnauthenticated):
		o.wrong++
	case errors.Is(err, groups.ErrRateLimited):
		o.limited++
		if errors.As(err, &de) {
			if s, _ := de.Details["retry_after_seconds"].(int); s < 1 {
				o.retryBad++
			}
		}
	default:
		panic(err)
	}
}

func (o *outcome) String() string {
	return fmt.Sprintf("%d signed in, %d wrong password, %d rate limited", o.ok, o.wrong, o.limited)
}

// attemptAll runs every attempt in its own goroutine, all released at once.
func attemptAll(svc *auth.Service, attempts []auth.LoginAttempt) *outcome {
	var o outcome
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, a := range attempts {
		wg.Go(func() {
			<-start
			o.add(svc.SignIn(context.Background(), a))
		})
	}
	close(start)
	wg.Wait()
	return &o
}

func repeat(n int, a auth.LoginAttempt) []auth.LoginAttempt {
	out := make([]auth.LoginAttempt, n)
	for i := range out {
		out[i] = a
	}
	return out
}

func signIn(t *testing.T, svc *auth.Service, a auth.LoginAttempt) (*auth.SignedIn, error) {
	t.Helper()
	return svc.SignIn(context.Background(), a)
}

// TestParallelGuessesReachTheHashAtMostBurstTimes: 100 wrong guesses at once from one
// address get 5 password checks (the burst) and 95 answers of 429 with a retry time.
func TestParallelGuessesReachTheHashAtMostBurstTimes(t *testing.T) {
	svc, _ := limitedService(t, nil)
	o := attemptAll(svc, repeat(100, auth.LoginAttempt{Username: "alice", Password: "guess", ClientIP: "192.0.2.1"}))
	if o.wrong != 5 || o.limited != 95 || o.retryBad != 0 {
		t.Fatalf("100 parallel wrong guesses: %s (%d without a retry time); want 5 wrong, 95 rate limited", o, o.retryBad)
	}
	if n := svc.PasswordChecks(); n != 5 {
		t.Fatalf("%d password checks, want at most the burst of 5", n)
	}
}

// TestParallelGuessesAfterLockout: once an account is locked, 60 guesses at once from
// 60 addresses, one with the right password, are all refused unchecked; when the
// bucket has earned one attempt back, 60 at once get that one attempt between them.
func TestParallelGuessesAfterLockout(t *testing.T) {
	svc, clk := limitedService(t, nil)
	for i := range 5 {
		if _, err := signIn(t, svc, auth.LoginAttempt{Username: "alice", Password: "guess", ClientIP: fmt.Sprintf("192.0.2.%d", i)}); !errors.Is(err, groups.ErrUnauthenticated) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	sixty := func(net string) []auth.LoginAttempt {
		var attempts []auth.LoginAttempt
		for i := range 60 {
			pw := "guess"
			if i == 30 {
				pw = "alice-pass"
			}
			attempts = append(attempts, auth.LoginAttempt{Username: "alice", Password: pw, ClientIP: fmt.Sprintf(net, i)})
		}
		return attempts
	}
	checks := svc.PasswordChecks()
	o := attemptAll(svc, sixty("198.51.100.%d"))
	if o.limited != 60 {
		t.Fatalf("60 parallel guesses at a locked account: %s; want all 60 rate limited", o)
	}
	if n := svc.PasswordChecks() - checks; n != 0 {
		t.Fatalf("%d guesses at a locked account reached the password hash", n)
	}

	clk.Add(12 * time.Second) // one attempt earned back
	checks = svc.PasswordChecks()
	o = attemptAll(svc, sixty("203.0.113.%d"))
	if n := svc.PasswordChecks() - checks; n != 1 || o.limited != 59 {
		t.Fatalf("60 parallel guesses 12 s after the lockout: %s, %d password checks; want 1 checked, 59 rate limited", o, n)
	}
}

// TestDeviceCookieSparesAKnownDevice: strangers' failures lock the account for
// strangers (the right password answers 429) but not for a device that signed in to it
// before; they can also not lock that device out, nor can its cookie be used for
// another account, altered, or used after it expires.
func TestDeviceCookieSparesAKnownDevice(t *testing.T) {
	svc, clk := limitedService(t, func(o *auth.Options) { o.DeviceTTL = 90 * time.Second })
	home := "203.0.113.7"
	in, err := signIn(t, svc, auth.LoginAttempt{Username: "alice", Password: "alice-pass", ClientIP: home})
	if err != nil || in.Device == "" || in.DeviceTTL != 90*time.Second {
		t.Fatalf("first sign-in: %+v %v; want a device cookie", in, err)
	}
	device := in.Device

	// An attacker from many addresses locks the account for strangers…
	var guesses []auth.LoginAttempt
	for i := range 20 {
		guesses = append(guesses, auth.LoginAttempt{Username: "alice", Password: "guess", ClientIP: fmt.Sprintf("198.51.100.%d", i)})
	}
	if o := attemptAll(svc, guesses); o.wrong != 5 || o.limited != 15 {
		t.Fatalf("20 guesses from 20 addresses: %s; want 5 wrong, 15 rate limited", o)
	}
	if _, err := signIn(t, svc, auth.LoginAttempt{Username: "alice", Password: "alice-pass", ClientIP: "192.0.2.99"}); !errors.Is(err, groups.ErrRateLimited) {
		t.Fatalf("the right password from an unknown device during the lockout: %v; want rate limited", err)
	}
	// …but alice's device signs in, even from the same address as the attacker.
	for _, ip := range []string{home, "198.51.100.1"} {
		in, err := signIn(t, svc, auth.LoginAttempt{Username: "alice", Password: "alice-pass", ClientIP: ip, Device: device})
		if err != nil {
			t.Fatalf("alice's known device from %s during the lockout: %v; want signed in", ip, err)
		}
		device = in.Device
	}

	// A device's own failures limit that device alone: five typos, then 429 for it,
	// and parallel guesses with its cookie reach the hash no more than the burst.
	checks := svc.PasswordChecks()
	o := attemptAll(svc, repeat(50, auth.LoginAttempt{Username: "alice", Password: "typo", ClientIP: home, Device: device}))
	if o.wrong != 5 || o.limited != 45 || svc.PasswordChecks()-checks != 5 {
		t.Fatalf("50 parallel wrong passwords from a known device: %s, %d checks; want 5 wrong, 45 rate limited, 5 checks", o, svc.PasswordChecks()-checks)
	}
	if _, err := signIn(t, svc, auth.LoginAttempt{Username: "alice", Password: "alice-pass", ClientIP: home, Device: device}); !errors.Is(err, groups.ErrRateLimited) {
		t.Fatalf("a device after its own 5 failures: %v; want rate limited", err)
	}
	bob, err := signIn(t, svc, auth.LoginAttempt{Username: "bob", Password: "bob-pass", ClientIP: home})
	if err != nil {
		t.Fatalf("bob from the same address: %v", err)
	}

	clk.Add(61 * time.Second) // every bucket is full again; alice's cookie still valid
	lockout := func(user string) {
		t.Helper()
		for i := range 5 {
			signIn(t, svc, auth.LoginAttempt{Username: user, Password: "guess", ClientIP: fmt.Sprintf("192.0.2.%d", 100+i)})
		}
		if _, err := signIn(t, svc, auth.LoginAttempt{Username: user, Password: user + "-pass", ClientIP: "192.0.2.200"}); !errors.Is(err, groups.ErrRateLimited) {
			t.Fatalf("%s is not locked for strangers: %v", user, err)
		}
	}
	lockout("alice")
	if _, err := signIn(t, svc, auth.LoginAttempt{Username: "alice", Password: "alice-pass", ClientIP: home, Device: bob.Device}); !errors.Is(err, groups.ErrRateLimited) {
		t.Fatalf("bob's device cookie signing in as locked alice: %v; want rate limited (it is a stranger to alice)", err)
	}
	altered := []byte(device)
	altered[len(altered)-1] ^= 1
	if _, err := signIn(t, svc, auth.LoginAttempt{Username: "alice", Password: "alice-pass", ClientIP: home, Device: string(altered)}); !errors.Is(err, groups.ErrRateLimited) {
		t.Fatalf("an altered device cookie: %v; want rate limited", err)
	}
	other, _ := limitedService(t, nil) // another key: its cookies are not ours
	forged, err := signIn(t, other, auth.LoginAttempt{Username: "alice", Password: "alice-pass", ClientIP: home})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signIn(t, svc, auth.LoginAttempt{Username: "alice", Password: "alice-pass", ClientIP: home, Device: forged.Device}); !errors.Is(err, groups.ErrRateLimited) {
		t.Fatalf("a device cookie signed with another key: %v; want rate limited", err)
	}
	if _, err := signIn(t, svc, auth.LoginAttempt{Username: "alice", Password: "alice-pass", ClientIP: home, Device: device}); err != nil {
		t.Fatalf("alice's valid device cookie: %v", err)
	}
	clk.Add(91 * time.Second) // the device cookie expired; buckets refilled
	lockout("alice")
	if _, err := signIn(t, svc, auth.LoginAttempt{Username: "alice", Password: "alice-pass", ClientIP: home, Device: device}); !errors.Is(err, groups.ErrRateLimited) {
		t.Fatalf("an expired device cookie: %v; want rate limited", err)
	}
}

func TestUnlockAccount(t *testing.T) {
	svc, _ := limitedService(t, nil)
	for i := range 5 {
		signIn(t, svc, auth.LoginAttempt{Username: "alice", Password: "guess", ClientIP: fmt.Sprintf("192.0.2.%d", i)})
	}
	right := auth.LoginAttempt{Username: "alice", Password: "alice-pass", ClientIP: "198.51.100.1"}
	if _, err := signIn(t, svc, right); !errors.Is(err, groups.ErrRateLimited) {
		t.Fatalf("locked account: %v", err)
	}
	svc.UnlockAccount(" Alice ")
	if _, err := signIn(t, svc, right); err != nil {
		t.Fatalf("after an administrator unlocked it: %v", err)
	}
}

// TestAddressLimitGroupsIPv6By64: one IPv6 host may use any address of its /64, so the
// per-address limit counts the /64; IPv4 counts each address, v4-mapped ones alike.
func TestAddressLimitGroupsIPv6By64(t *testing.T) {
	svc, _ := limitedService(t, nil)
	for i := range 5 {
		signIn(t, svc, auth.LoginAttempt{Username: fmt.Sprintf("user%d", i), Password: "guess", ClientIP: fmt.Sprintf("2001:db8::%x", i+1)})
	}
	if _, err := signIn(t, svc, auth.LoginAttempt{Username: "bob", Password: "bob-pass", ClientIP: "2001:db8::ffff:1"}); !errors.Is(err, groups.ErrRateLimited) {
		t.Fatalf("another address of the same /64: %v; want rate limited", err)
	}
	if _, err := signIn(t, svc, auth.LoginAttempt{Username: "bob", Password: "bob-pass", ClientIP: "2001:db8:0:1::1"}); err != nil {
		t.Fatalf("another /64: %v", err)
	}
	for i := range 5 {
		signIn(t, svc, auth.LoginAttempt{Username: fmt.Sprintf("user%d", i), Password: "guess", ClientIP: "::ffff:192.0.2.1"})
	}
	if _, err := signIn(t, svc, auth.LoginAttempt{Username: "bob", Password: "bob-pass", ClientIP: "192.0.2.1"}); !errors.Is(err, groups.ErrRateLimited) {
		t.Fatalf("the same IPv4 address, once v4-mapped: %v; want rate limited", err)
	}
	if _, err := signIn(t, svc, auth.LoginAttempt{Username: "bob", Password: "bob-pass", ClientIP: "192.0.2.2"}); err != nil {
		t.Fatalf("the next IPv4 address: %v", err)
	}
}

// TestDeviceKeySurvivesRestart: the key file is made once, kept private, and read back,
// so a device cookie from before a restart is still known after it.
func TestDeviceKeySurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "device-cookie.key")
	key, err := auth.LoadDeviceKey(path)
	if err != nil || len(key) != auth.DeviceKeySize {
		t.Fatalf("LoadDeviceKey = %d bytes, %v", len(key), err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v; want mode 0600", fi.Mode(), err)
	}
	again, err := auth.LoadDeviceKey(path)
	if err != nil || string(again) != string(key) {
		t.Fatalf("second LoadDeviceKey returned another key (%v)", err)
	}
	before, _ := limitedService(t, func(o *auth.Options) { o.DeviceKey = key })
	in, err := signIn(t, before, auth.LoginAttempt{Username: "alice", Password: "alice-pass", ClientIP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := limitedService(t, func(o *auth.Options) { o.DeviceKey = again })
	for i := range 5 {
		signIn(t, after, auth.LoginAttempt{Username: "alice", Password: "guess", ClientIP: fmt.Sprintf("198.51.100.%d", i)})
	}
	if _, err := signIn(t, after, auth.LoginAttempt{Username: "alice", Password: "alice-pass", ClientIP: "192.0.2.1", Device: in.Device}); err != nil {
		t.Fatalf("a device cookie from before the restart, account locked for strangers: %v", err)
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.LoadDeviceKey(path); err == nil {
		t.Fatal("a key file of the wrong size was accepted")
	}
}

func TestTokenLifetimeBounds(t *testing.T) {
	svc, _ := limitedService(t, nil)
	ctx := context.Background()
	users, err := svc.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ttl  time.Duration
		want string // "" when accepted
	}{
		{-time.Hour, "expires_in: must be positive"},
		{500 * time.Microsecond, "expires_in: must be at least 1s"},
		{auth.MaxTokenTTL + time.Nanosecond, "expires_in: must be at most 87600h (10 years); leave it out for a token that does not expire"},
		{1<<63 - 1, "expires_in: must be at most 87600h (10 years); leave it out for a token that does not expire"},
		{time.Second, ""},
		{auth.MaxTokenTTL, ""},
		{0, ""},
	}
	for _, tt := range tests {
		_, _, err := svc.CreateToken(ctx, users[0].ID, "t", tt.ttl)
		if tt.want == "" {
			if err != nil {
				t.Errorf("ttl %v refused: %v", tt.ttl, err)
			}
			continue
		}
		if !errors.Is(err, groups.ErrInvalid) || err.Error() != tt.want {
			t.Errorf("ttl %v: err = %v, want %q", tt.ttl, err, tt.want)
		}
	}
}
