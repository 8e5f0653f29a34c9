package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/groups"
)

func quotaTargets(k, n int) []groups.Target {
	out := make([]groups.Target, n)
	for j := range out {
		ip := netip.AddrFrom4([4]byte{10, byte(k), 0, byte(j + 1)})
		out[j] = groups.Target{ID: uuid.NewString(), Address: ip.String(), IP: ip, CreatedAt: time.Now().UTC()}
	}
	return out
}

// New groups and additions to existing groups of one owner, forty at once, share the
// owner's quota: the owner ends with exactly the quota, each call stores all of its
// targets or none (the room left is a multiple of 25), and what was left out is returned.
func TestQuotaHoldsAcrossParallelCreatesAndAdds(t *testing.T) {
	const quota, calls, each = 500, 40, 25
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := newUser(t, s, "alice")
		existing := newGroup(t, s, alice.ID, "existing", groups.Private)
		q := Quota{MaxTargets: quota, MaxGroups: 1000}
		stored := make([]int, calls)
		errs := make([]error, calls)
		var wg sync.WaitGroup
		for i := range calls {
			wg.Go(func() {
				ts := quotaTargets(i, each)
				if i%2 == 0 {
					g := &groups.Group{ID: uuid.NewString(), OwnerID: alice.ID, Name: fmt.Sprint("g", i), Visibility: groups.Private,
						Interval: time.Second, Timeout: time.Second, PacketSize: 56, Targets: ts}
					over, err := s.CreateGroup(ctx, g, q)
					stored[i], errs[i] = len(g.Targets), err
					if err == nil && len(g.Targets)+len(over) != each {
						errs[i] = fmt.Errorf("stored %d and left out %d of %d", len(g.Targets), len(over), each)
					}
					return
				}
				added, over, err := s.AddTargets(ctx, existing.ID, ts, q)
				stored[i], errs[i] = len(added), err
				if err == nil && len(added)+len(over) != each {
					errs[i] = fmt.Errorf("added %d and left out %d of %d", len(added), len(over), each)
				}
			})
		}
		wg.Wait()
		full := 0
		for i := range calls {
			if errs[i] != nil {
				t.Fatalf("call %d: %v", i, errs[i])
			}
			if stored[i] == each {
				full++
			} else if stored[i] != 0 {
				t.Errorf("call %d stored %d of %d targets", i, stored[i], each)
			}
		}
		n, err := s.CountTargetsOwnedBy(ctx, alice.ID)
		if err != nil || n != quota || full != quota/each {
			t.Fatalf("owner has %d targets (%v), %d calls stored theirs; want %d and %d", n, err, full, quota, quota/each)
		}
	})
}

// The group quota is checked in the creating transaction: of forty parallel creations
// against a limit of ten, exactly ten succeed, the rest get ErrQuotaExceeded.
func TestGroupQuotaHoldsAcrossParallelCreates(t *testing.T) {
	const quota, calls = 10, 40
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := newUser(t, s, "alice")
		errs := make([]error, calls)
		var wg sync.WaitGroup
		for i := range calls {
			wg.Go(func() {
				g := &groups.Group{ID: uuid.NewString(), OwnerID: alice.ID, Name: fmt.Sprint("g", i), Visibility: groups.Private,
					Interval: time.Second, Timeout: time.Second, PacketSize: 56}
				_, errs[i] = s.CreateGroup(ctx, g, Quota{MaxGroups: quota})
			})
		}
		wg.Wait()
		created := 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, groups.ErrQuotaExceeded):
				t.Fatalf("call %d: %v, want nil or ErrQuotaExceeded", i, err)
			}
		}
		views, err := s.GroupsFor(ctx, groups.Actor{UserID: alice.ID}, ScopeDashboard)
		if err != nil || created != quota || len(views) != quota {
			t.Fatalf("created %d, alice owns %d (%v); want %d", created, len(views), err, quota)
		}
		// A missing owner is not-found, not a quota error.
		_, err = s.CreateGroup(ctx, &groups.Group{ID: uuid.NewString(), OwnerID: uuid.NewString(), Name: "x", Visibility: groups.Private,
			Interval: time.Second, Timeout: time.Second, PacketSize: 56}, Quota{MaxGroups: quota})
		if !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("unknown owner: %v, want not found", err)
		}
	})
}
