package auth

import (
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
	defaultLoginBurst  = 5
	defaultLoginRefill = 12 * time.Second
	loginMaxKeys       = 100_000
)

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
// One mutex covers all three, so checking every bucket an attempt needs and reserving a
// token in each is one step: parallel attempts cannot all pass the check before any is
// counted. A token is reserved before the password is compared and given back when the
// password was right.
type loginLimits struct {
	mu      sync.Mutex
	address *ratelimit.Buckets
	account *ratelimit.Buckets
	device  *ratelimit.Buckets
}

func newLoginLimits(burst int, refill time.Duration) *loginLimits {
	return &loginLimits{
		address: ratelimit.NewBuckets(burst, refill, loginMaxKeys),
		account: ratelimit.NewBuckets(burst, refill, loginMaxKeys),
		device:  ratelimit.NewBuckets(burst, refill, loginMaxKeys),
	}
}

// slot is one bucket an attempt spends from.
type slot struct {
	kind string // "address", "account" or "device": which limit held an attempt back
	set  *ratelimit.Buckets
	key  string
}

// slots lists the buckets an attempt spends from: its device's when it presented a valid
// device cookie for the account, else its address's and (for a name that could be an
// account) the account's.
func (l *loginLimits) slots(username, clientIP, deviceID string) []slot {
	if deviceID != "" {
		return []slot{{"device", l.device, deviceID}}
	}
	out := []slot{{"address", l.address, addressKey(clientIP)}}
	if usernamePattern.MatchString(username) {
		out = append(out, slot{"account", l.account, username})
	}
	return out
}

// reserve spends one token of every slot and returns nil, or, when any slot has none,
// spends nothing and returns a rate-limited error saying how long to wait.
func (l *loginLimits) reserve(slots []slot, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	var held string
	for _, s := range slots {
		if w := s.set.Wait(s.key, now); w > wait {
			wait, held = w, s.kind
		}
	}
	if wait > 0 {
		return rateLimited(held, wait)
	}
	for _, s := range slots {
		s.set.Take(s.key, now)
	}
	return nil
}

// refund gives back the tokens reserve spent: the attempt did not count.
func (l *loginLimits) refund(slots []slot, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range slots {
		s.set.Refund(s.key, now)
	}
}

// resetAccount forgets the failures counted against username from unknown clients.
func (l *loginLimits) resetAccount(username string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.account.Reset(username)
}

// accountWait is how long sign-ins to username from unknown clients must wait.
func (l *loginLimits) accountWait(username string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.account.Wait(username, now)
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
