package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"pingdeck/internal/auth"
)

// openBudgets is one replica's shared budgets, on its own connection to srv.
func openBudgets(t *testing.T, js jetstream.JetStream, burst int, refill time.Duration) *Budgets {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := OpenBudgets(ctx, js, 1, burst, refill, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBudgetsHoldAcrossReplicas(t *testing.T) {
	srv := natsServer(t)
	var replicas []*Budgets
	for range 2 {
		nc, err := nats.Connect("", nats.InProcessServer(srv))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, _ := jetstream.New(nc)
		replicas = append(replicas, openBudgets(t, js, 5, time.Minute))
	}
	ctx := context.Background()
	now := time.Now()
	addr := []auth.BudgetKey{{Kind: "address", Key: "2001:db8::/64"}, {Kind: "account", Key: "alice"}}

	// Twenty attempts at once, spread over both replicas: exactly the burst pass.
	var passed atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if wait, _ := replicas[i%2].Reserve(ctx, addr, now); wait == 0 {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := passed.Load(); n != 5 {
		t.Fatalf("%d of 20 parallel attempts on two replicas passed; the burst is 5", n)
	}
	wait, kind := replicas[1].Reserve(ctx, addr, now)
	if wait <= 0 || wait > time.Minute || kind == "" {
		t.Fatalf("sixth attempt: wait %s held by %q, want up to a refill", wait, kind)
	}
	if w := replicas[0].Wait(ctx, addr[1], now); w <= 0 {
		t.Fatal("the account's bucket is not empty on the other replica")
	}

	// A refund on one replica is a token on the other; a refill adds one more.
	replicas[0].Refund(ctx, addr, now)
	if wait, _ := replicas[1].Reserve(ctx, addr, now); wait != 0 {
		t.Fatalf("after a refund: wait %s", wait)
	}
	if wait, _ := replicas[1].Reserve(ctx, addr, now.Add(61*time.Second)); wait != 0 {
		t.Fatalf("after a refill interval: wait %s", wait)
	}

	// Unlocking the account on one replica opens it on both (the address stays held).
	replicas[0].Reset(ctx, addr[1])
	if w := replicas[1].Wait(ctx, addr[1], now); w != 0 {
		t.Fatalf("account still waits %s after Reset", w)
	}
	if w := replicas[1].Wait(ctx, addr[0], now); w == 0 {
		t.Fatal("the address's bucket refilled with the account's")
	}
}

func TestBudgetsFallBackWhenTheBusIsGone(t *testing.T) {
	srv := natsServer(t)
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	b := openBudgets(t, js, 2, time.Minute)
	nc.Close()
	ctx := context.Background()
	key := []auth.BudgetKey{{Kind: "address", Key: "192.0.2.1"}}
	for i := range 2 {
		if wait, _ := b.Reserve(ctx, key, time.Now()); wait != 0 {
			t.Fatalf("attempt %d refused with the bus gone: wait %s", i, wait)
		}
	}
	if wait, _ := b.Reserve(ctx, key, time.Now()); wait == 0 {
		t.Fatal("the local fallback does not limit")
	}
}

func TestSharedSecretIsTheFirstStored(t *testing.T) {
	srv := natsServer(t)
	ctx := context.Background()
	var got [][]byte
	for _, mine := range []string{"first-replica-key", "second-replica-key"} {
		nc, err := nats.Connect("", nats.InProcessServer(srv))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, _ := jetstream.New(nc)
		k, err := SharedSecret(ctx, js, 1, "device-key", []byte(mine))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, k)
	}
	if string(got[0]) != "first-replica-key" || string(got[1]) != "first-replica-key" {
		t.Fatalf("keys %q: want the first stored on both", got)
	}
}
