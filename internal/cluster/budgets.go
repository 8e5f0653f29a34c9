package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"pingdeck/internal/auth"
)

// BudgetBucket is the key-value bucket of the shared sign-in budgets.
const BudgetBucket = "pingdeck_login"

// Budgets are sign-in attempt budgets (auth.AttemptBudgets) shared by the replicas:
// one key per token bucket, changed only by compare-and-set on its revision, so that
// checking and spending is one atomic step across replicas. The bucket's TTL forgets a
// key once it would be full anyway, bounding what is kept to the recent attempts.
// When the bus does not answer, the replica counts in memory meanwhile (logged): a
// lost bus must not stop people signing in.
type Budgets struct {
	kv     jetstream.KeyValue
	burst  float64
	refill time.Duration
	local  auth.AttemptBudgets
	log    *slog.Logger
}

var _ auth.AttemptBudgets = (*Budgets)(nil)

// budgetState is a bucket as stored: its tokens at a time.
type budgetState struct {
	Tokens float64 `json:"t"`
	At     int64   `json:"at"` // unix ns
}

// OpenBudgets makes sure the bucket exists and returns budgets of burst attempts per
// key, one more per refill.
func OpenBudgets(ctx context.Context, js jetstream.JetStream, replicas, burst int, refill time.Duration, log *slog.Logger) (*Budgets, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BudgetBucket,
		Description: "pingdeck sign-in attempt budgets, shared by the replicas",
		History:     1,
		// Past burst × refill since its last attempt a bucket is full: same as absent.
		TTL:      time.Duration(burst)*refill + time.Minute,
		Storage:  jetstream.FileStorage,
		Replicas: max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: budget bucket %s: %w", BudgetBucket, err)
	}
	return &Budgets{kv: kv, burst: float64(burst), refill: refill, local: auth.NewMemoryBudgets(burst, refill), log: log}, nil
}

// keyName is k's key: its kind and a hash of its key (addresses and names hold
// characters a key cannot).
func keyName(k auth.BudgetKey) string {
	sum := sha256.Sum256([]byte(k.Key))
	return k.Kind + "." + hex.EncodeToString(sum[:16])
}

// read returns k's tokens now and the revision to change it from (0: absent).
func (b *Budgets) read(ctx context.Context, k auth.BudgetKey, now time.Time) (float64, uint64, error) {
	e, err := b.kv.Get(ctx, keyName(k))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return b.burst, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	var st budgetState
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return b.burst, e.Revision(), nil // unreadable: as full, overwritten by the next write
	}
	elapsed := max(now.Sub(time.Unix(0, st.At)), 0)
	return min(b.burst, st.Tokens+float64(elapsed)/float64(b.refill)), e.Revision(), nil
}

// write sets k's tokens at now, from revision rev (0: create).
func (b *Budgets) write(ctx context.Context, k auth.BudgetKey, tokens float64, now time.Time, rev uint64) error {
	val, _ := json.Marshal(budgetState{Tokens: tokens, At: now.UnixNano()})
	var err error
	if rev == 0 {
		_, err = b.kv.Create(ctx, keyName(k), val)
	} else {
		_, err = b.kv.Update(ctx, keyName(k), val, rev)
	}
	return err
}

func conflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// maxTries bounds the retries of a step that lost races to other replicas.
const maxTries = 8

// Reserve is auth.AttemptBudgets.Reserve across the replicas: it reads every bucket,
// and spends from each by compare-and-set; when another replica changed one meanwhile,
// what this try spent is given back and it tries again.
func (b *Budgets) Reserve(ctx context.Context, keys []auth.BudgetKey, now time.Time) (time.Duration, string) {
	for range maxTries {
		var wait time.Duration
		var held string
		revs := make([]uint64, len(keys))
		tokens := make([]float64, len(keys))
		for i, k := range keys {
			t, rev, err := b.read(ctx, k, now)
			if err != nil {
				return b.fallback(err).Reserve(ctx, keys, now)
			}
			tokens[i], revs[i] = t, rev
			if t < 1 {
				if w := time.Duration((1 - t) * float64(b.refill)); w > wait {
					wait, held = w, k.Kind
				}
			}
		}
		if wait > 0 {
			return wait, held
		}
		spent := 0
		var err error
		for i, k := range keys {
			if err = b.write(ctx, k, tokens[i]-1, now, revs[i]); err != nil {
				break
			}
			spent++
		}
		if err == nil {
			return 0, ""
		}
		b.Refund(context.WithoutCancel(ctx), keys[:spent], now)
		if !conflict(err) {
			return b.fallback(err).Reserve(ctx, keys, now)
		}
	}
	return b.refill, keys[0].Kind // lost every race: the bucket is busy; wait a refill
}

// Refund gives a token back to each key (never above the burst).
func (b *Budgets) Refund(ctx context.Context, keys []auth.BudgetKey, now time.Time) {
	for _, k := range keys {
		for range maxTries {
			t, rev, err := b.read(ctx, k, now)
			if err == nil && rev == 0 {
				break // absent is full
			}
			if err == nil {
				if err = b.write(ctx, k, min(t+1, b.burst), now, rev); err == nil {
					break
				}
			}
			if !conflict(err) {
				b.fallback(err).Refund(ctx, []auth.BudgetKey{k}, now)
				break
			}
		}
	}
}

// Reset fills k's bucket again.
func (b *Budgets) Reset(ctx context.Context, k auth.BudgetKey) {
	if err := b.kv.Purge(ctx, keyName(k)); err != nil {
		b.fallback(err)
	}
	b.local.Reset(ctx, k)
}

// Wait is how long until k has a token.
func (b *Budgets) Wait(ctx context.Context, k auth.BudgetKey, now time.Time) time.Duration {
	t, _, err := b.read(ctx, k, now)
	if err != nil {
		return b.fallback(err).Wait(ctx, k, now)
	}
	if t >= 1 {
		return 0
	}
	return time.Duration((1 - t) * float64(b.refill))
}

// fallback logs why the shared budgets cannot be used and returns the local ones.
func (b *Budgets) fallback(err error) auth.AttemptBudgets {
	b.log.Warn("cluster: shared sign-in budgets unavailable; counting on this replica meanwhile", "err", err)
	return b.local
}
