package auth

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/ratelimit"
)

// Sign-in attempt budgets: each bucket allows a burst of attempts, then one more per
// refill (Options.LoginBurst and Options.LoginRefill). loginMaxKeys bounds each kind of
// bucket; a key is at most ~64 bytes (an address, a username of at most 32 bytes, a
// device ID of 22), so each kind holds at most ~13 MB (about 130 bytes a key, measured in
// internal/ratelimit).
const (
	DefaultLoginBurst  = 5
	DefaultLoginRefill = 12 * time.Second
	loginMaxKeys       = 100_000
)

// AttemptBudgets counts sign-in attempts in token buckets, one per BudgetKey. The
// default keeps them in this process (NewMemoryBudgets); replicas share one kept on
// the bus (internal/cluster), so that the limits hold across them.
type AttemptBudgets interface {
	// Reserve spends one token of every key's bucket and returns 0, or, when any has
	// none, spends nothing and returns how long to wait and the kind that held it.
	// Checking and spending are one atomic step: parallel attempts cannot all pass.
	Reserve(ctx context.Context, keys []BudgetKey, now time.Time) (wait time.Duration, kind string)
	// Refund gives back what Reserve spent: the attempt did not count.
	Refund(ctx context.Context, keys []BudgetKey, now time.Time)
	// Reset fills key's bucket again.
	Reset(ctx context.Context, key BudgetKey)
	// Wait is how long until key's bucket has a token.
	Wait(ctx context.Context, key BudgetKey, now time.Time) time.Duration
}

// BudgetKey names one bucket: Kind is "address", "account" or "device".
type BudgetKey struct{ Kind, Key string }

// loginLimits holds the budgets sign-in attempts spend from, in three kinds of bucket:
//
//   - per client address (an IPv6 client by its /64): bounds guessing from one place,
//     across accounts;
//   - per account: bounds guessing at one account by clients it does not know;
//   - per device: a client that presents a valid device cookie for the account (it has
//     signed in to it before) spends from its own bucket instead of the two above, so
//     strangers' failures cannot lock it out (OWASP, "Slow Down Online Guessing Attacks
//     with Device Cookies").
//
// A token is reserved before the password is compared and given back when the password
// was right.
type loginLimits struct{ budgets AttemptBudgets }

// memoryBudgets are AttemptBudgets in this process. One mutex covers every kind, so
// checking every bucket an attempt needs and reserving a token in each is one step.
type memoryBudgets struct {
	mu    sync.Mutex
	kinds map[string]*ratelimit.Buckets
}

// NewMemoryBudgets returns budgets kept in this process: burst attempts per key, one
// more per refill, at most loginMaxKeys keys of each kind.
func NewMemoryBudgets(burst int, refill time.Duration) AttemptBudgets {
	return &memoryBudgets{kinds: map[string]*ratelimit.Buckets{
		"address": ratelimit.NewBuckets(burst, refill, loginMaxKeys),
		"account": ratelimit.NewBuckets(burst, refill, loginMaxKeys),
		"device":  ratelimit.NewBuckets(burst, refill, loginMaxKeys),
	}}
}

func (m *memoryBudgets) Reserve(_ context.Context, keys []BudgetKey, now time.Time) (time.Duration, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var wait time.Duration
	var held string
	for _, k := range keys {
		if w := m.kinds[k.Kind].Wait(k.Key, now); w > wait {
			wait, held = w, k.Kind
		}
	}
	if wait > 0 {
		return wait, held
	}
	for _, k := range keys {
		m.kinds[k.Kind].Take(k.Key, now)
	}
	return 0, ""
}

func (m *memoryBudgets) Refund(_ context.Context, keys []BudgetKey, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		m.kinds[k.Kind].Refund(k.Key, now)
	}
}

func (m *memoryBudgets) Reset(_ context.Context, key BudgetKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kinds[key.Kind].Reset(key.Key)
}

func (m *memoryBudgets) Wait(_ context.Context, key BudgetKey, now time.Time) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.kinds[key.Kind].Wait(key.Key, now)
}

// slots lists the buckets an attempt spends from: its device's when it presented a valid
// device cookie for the account, else its address's and (for a name that could be an
// account) the account's.
func (l *loginLimits) slots(username, clientIP, deviceID string) []BudgetKey {
	if deviceID != "" {
		return []BudgetKey{{"device", deviceID}}
	}
	out := []BudgetKey{{"address", addressKey(clientIP)}}
	if usernamePattern.MatchString(username) {
		out = append(out, BudgetKey{"account", username})
	}
	return out
}

// reserve spends one token of every slot and returns nil, or, when any slot has none,
// spends nothing and returns a rate-limited error saying how long to wait.
func (l *loginLimits) reserve(ctx context.Context, slots []BudgetKey, now time.Time) error {
	if wait, held := l.budgets.Reserve(ctx, slots, now); wait > 0 {
		return rateLimited(held, wait)
	}
	return nil
}

// refund gives back the tokens reserve spent: the attempt did not count.
func (l *loginLimits) refund(ctx context.Context, slots []BudgetKey, now time.Time) {
	l.budgets.Refund(context.WithoutCancel(ctx), slots, now)
}

// resetAccount forgets the failures counted against username from unknown clients.
func (l *loginLimits) resetAccount(ctx context.Context, username string) {
	l.budgets.Reset(ctx, BudgetKey{"account", username})
}

// accountWait is how long sign-ins to username from unknown clients must wait.
func (l *loginLimits) accountWait(ctx context.Context, username string, now time.Time) time.Duration {
	return l.budgets.Wait(ctx, BudgetKey{"account", username}, now)
}

func rateLimited(kind string, wait time.Duration) error {
	msg := "too many failed sign-ins from this address; try again later"
	switch kind {
	case "account":
		msg = "too many failed sign-ins to this account from devices it has not signed in from; " +
			"try again later, sign in from a device you have used before, or ask an administrator to unlock the account"
	case "device":
		msg = "too many failed sign-ins from this device; try again later"
	}
	return &groups.Error{Kind: groups.ErrRateLimited, Message: msg,
		Details: map[string]any{"retry_after_seconds": int(wait/time.Second) + 1}}
}

// addressKey is the bucket key of a client address: an IPv4 address, or an IPv6
// client's /64 (one host commonly has a whole /64 to pick addresses from).
func addressKey(clientIP string) string {
	a, err := netip.ParseAddr(clientIP)
	if err != nil {
		if len(clientIP) > 64 {
			clientIP = clientIP[:64]
		}
		return "?" + clientIP
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}
