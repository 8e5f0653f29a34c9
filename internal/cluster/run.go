package cluster

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The lease loop: Run's goroutine renews, gives away and takes leases; a watcher
// keeps the view of the bucket.
// Run holds this replica's fair share of the shards and competes for the tasks until
// ctx ends; then it releases everything it holds, so that the others take it over at
// once rather than after the TTL.
func (l *Leases) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	w, err := l.kv.WatchAll(watchCtx)
	if err != nil {
		return fmt.Errorf("cluster: watch %s: %w", Bucket, err)
	}
	initial := make(chan struct{})
	wg.Go(func() { l.watch(watchCtx, w, initial) })
	select {
	case <-initial:
	case <-ctx.Done():
		return nil
	}
	t := time.NewTicker(l.opt.Renew)
	defer t.Stop()
	for {
		hungry := l.tick(ctx)
		var sooner <-chan time.Time
		if hungry {
			// Short of its share: a lapsing lease is free the moment the bucket
			// forgets it; look again before the next renewal.
			sooner = time.After(l.opt.Renew / 4)
		}
		select {
		case <-ctx.Done():
			l.releaseAll()
			return nil
		case <-t.C:
		case <-sooner:
		case <-l.wake:
		}
	}
}

// watch keeps l.view equal to the bucket; initial is closed once the keys present at
// the start are in.
func (l *Leases) watch(ctx context.Context, w jetstream.KeyWatcher, initial chan struct{}) {
	defer w.Stop()
	started := false
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				if !started {
					started = true
					close(initial)
				}
				continue
			}
			l.mu.Lock()
			if e.Operation() == jetstream.KeyValuePut {
				l.view[e.Key()] = seen{value: string(e.Value()), at: time.Now()}
			} else {
				delete(l.view, e.Key())
			}
			l.mu.Unlock()
			if e.Operation() != jetstream.KeyValuePut && started {
				select {
				case l.wake <- struct{}{}:
				default:
				}
			}
		}
	}
}

// opTimeout bounds one key-value operation: a tick must not outlast the TTL.
func (l *Leases) opTimeout() time.Duration { return l.opt.Renew }

// tick renews what is held, gives away shards past the fair share, and takes free
// ones up to it. It reports whether this replica is still short of its share while
// some shard has no live holder.
func (l *Leases) tick(ctx context.Context) (hungry bool) {
	now := time.Now()
	op, cancel := context.WithTimeout(ctx, l.opTimeout())
	role := "probing"
	if l.opt.TasksOnly {
		role = tasksOnly
	}
	_, err := l.kv.Put(op, "node."+l.opt.Node, []byte(role+" "+l.run))
	cancel()
	switch {
	case err != nil && ctx.Err() == nil:
		l.opt.Logger.Warn("cluster: announcing this replica failed", "node", l.opt.Node, "err", err)
		l.outage = true
	case err == nil && l.outage:
		l.outage, l.settled = false, now.Add(l.opt.Renew)
	}
	changed := l.renew(ctx)
	if l.outage || now.Before(l.settled) {
		if changed {
			l.publish()
		}
		return true // after an outage every key looks lapsed: look again once the view is fresh
	}

	l.mu.Lock()
	members := l.membersLocked(now)
	var free []string
	for n := range l.opt.Shards {
		k := shardKey(n)
		if _, ok := l.mine[k]; !ok && l.freeLocked(k, now) {
			free = append(free, k)
		}
	}
	var freeTasks []string
	for _, task := range l.opt.Tasks {
		k := "task." + task
		if _, ok := l.mine[k]; !ok && l.freeLocked(k, now) {
			freeTasks = append(freeTasks, k)
		}
	}
	l.mu.Unlock()

	fair := 0
	if !l.opt.TasksOnly {
		fair = (l.opt.Shards + len(members) - 1) / len(members)
	}
	var held []string
	for k := range l.mine {
		if strings.HasPrefix(k, "shard.") {
			held = append(held, k)
		}
	}
	if extra := len(held) - fair; extra > 0 {
		// Give away those this replica ranks lowest, so each keeps the same ones.
		slices.SortFunc(held, func(a, b string) int { return compareRank(l.opt.Node, a, b) })
		l.release(ctx, held[len(held)-extra:])
		changed = false // release published the change
	}
	if want := fair - len(held); want > 0 && len(free) > 0 {
		slices.SortFunc(free, func(a, b string) int { return compareRank(l.opt.Node, a, b) })
		for _, k := range free {
			if want == 0 {
				break
			}
			took, unavailable := l.take(ctx, k)
			if unavailable {
				break
			}
			if took {
				want--
				changed = true
			}
		}
	}
	for _, k := range freeTasks {
		took, unavailable := l.take(ctx, k)
		if unavailable {
			break
		}
		changed = changed || took
	}
	if changed {
		l.publish()
	}
	for _, k := range append(free, freeTasks...) {
		if _, ok := l.mine[k]; !ok && (strings.HasPrefix(k, "task.") || l.heldShards() < fair) {
			return true // one looked free and could not be taken yet: it is lapsing
		}
	}
	return false
}

// heldShards is how many shards this replica holds. Run's goroutine only.
func (l *Leases) heldShards() int {
	n := 0
	for k := range l.mine {
		if strings.HasPrefix(k, "shard.") {
			n++
		}
	}
	return n
}

// freeLocked reports whether key k may be taken: nobody holds it, its holder let it
// lapse (not renewed within the TTL), or it is this replica's from before a restart.
func (l *Leases) freeLocked(k string, now time.Time) bool {
	s, ok := l.view[k]
	return !ok || s.value == l.opt.Node || now.Sub(s.at) >= l.opt.TTL
}

// renew renews every key held; a key another replica took (or that expired) is
// dropped at once, one that could not be renewed for a while just before it could
// lapse. It reports whether anything was dropped.
func (l *Leases) renew(ctx context.Context) bool {
	dropped := false
	var unavailable error // the bucket did not answer: the other keys are not asked this round
	majority := sync.OnceValue(func() bool { return l.opt.Majority != nil && l.opt.Majority() })
	for k, h := range l.mine {
		var rev uint64
		err := unavailable
		if err == nil {
			op, cancel := context.WithTimeout(ctx, l.opTimeout())
			rev, err = l.kv.Update(op, k, []byte(l.opt.Node), h.rev)
			cancel()
			if err != nil && !conflict(err) && !errors.Is(err, jetstream.ErrKeyNotFound) {
				unavailable = err
			}
		}
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			// A renewal that timed out may have gone through: the key is then still
			// this replica's, at a revision it did not hear of.
			op, cancel := context.WithTimeout(ctx, l.opTimeout())
			switch e, gerr := l.kv.Get(op, k); {
			case gerr == nil && string(e.Value()) == l.opt.Node && time.Since(e.Created()) < l.opt.Renew:
				rev, err = e.Revision(), nil
			case errors.Is(gerr, jetstream.ErrKeyNotFound):
				err = gerr // it lapsed: gone from the bucket
			}
			cancel()
		}
		switch {
		case err == nil:
			l.mine[k] = lease{rev: rev, renewed: time.Now()}
		case errors.Is(err, jetstream.ErrKeyNotFound) && l.retake(ctx, k):
			// It lapsed unrenewed (the bucket was electing a leader) and nobody took it.
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyNotFound):
			l.opt.Logger.Warn("cluster: lost a lease (it lapsed or another replica took it)", "key", k, "err", err)
			delete(l.mine, k)
			dropped = true
		case l.mustLetGo(h, majority):
			if ctx.Err() == nil {
				l.opt.Logger.Warn("cluster: cannot renew a lease; letting it go before it lapses", "key", k, "err", err)
			}
			delete(l.mine, k)
			dropped = true
		}
	}
	return dropped
}

// retake takes back key k, held here, which lapsed: it succeeds only when nobody
// else took it meanwhile.
func (l *Leases) retake(ctx context.Context, k string) bool {
	op, cancel := context.WithTimeout(ctx, l.opTimeout())
	defer cancel()
	rev, err := l.kv.Create(op, k, []byte(l.opt.Node))
	if err != nil {
		return false
	}
	l.mine[k] = lease{rev: rev, renewed: time.Now()}
	return true
}

// mustLetGo reports whether a lease that could not be renewed must be let go now:
// before it could lapse, unless this replica reaches most of the cluster (the
// bucket's leader is being elected: nobody can take the lease meanwhile, and once
// elected the leader answers this replica first or at once after); then up to
// MaxUnrenewed. majority is asked at most once a round.
func (l *Leases) mustLetGo(h lease, majority func() bool) bool {
	unrenewed := time.Since(h.renewed)
	if unrenewed < l.opt.TTL-l.opt.Renew {
		return false
	}
	return unrenewed >= l.opt.MaxUnrenewed || !majority()
}

// take tries to take key k by compare-and-set: created when absent, or updated from
// the revision this replica last saw when its holder let it lapse or it is this
// replica's own from before a restart.
func (l *Leases) take(ctx context.Context, k string) (took, unavailable bool) {
	op, cancel := context.WithTimeout(ctx, l.opTimeout())
	defer cancel()
	rev, err := l.kv.Create(op, k, []byte(l.opt.Node))
	if errors.Is(err, jetstream.ErrKeyExists) {
		e, gerr := l.kv.Get(op, k)
		if gerr != nil || string(e.Value()) != l.opt.Node {
			return false, false // held by another, or lapsing: the bucket's TTL ends it
		}
		rev, err = l.kv.Update(op, k, []byte(l.opt.Node), e.Revision()) // ours, from before a restart
	}
	if err != nil {
		return false, !conflict(err) // the bucket did not answer: no more this round
	}
	l.mine[k] = lease{rev: rev, renewed: time.Now()}
	return true, false
}

// release gives keys away: they are dropped from what is held and Changed is told
// (the prober stops probing their targets), then, after the handover time, they are
// deleted so that another replica may take them.
func (l *Leases) release(ctx context.Context, keys []string) {
	revs := make(map[string]uint64, len(keys))
	for _, k := range keys {
		revs[k] = l.mine[k].rev
		delete(l.mine, k)
	}
	l.publish()
	select {
	case <-time.After(l.opt.Handover):
	case <-ctx.Done():
	}
	l.deleteKeys(revs)
	l.opt.Logger.Info("cluster: released leases", "node", l.opt.Node, "keys", keys)
}

// deleteKeys deletes keys still at the revisions given (not ctx-bound: it runs at
// shutdown too).
func (l *Leases) deleteKeys(revs map[string]uint64) {
	for k, rev := range revs {
		op, cancel := context.WithTimeout(context.Background(), l.opTimeout())
		if err := l.kv.Delete(op, k, jetstream.LastRevision(rev)); err != nil {
			l.opt.Logger.Debug("cluster: releasing a lease", "key", k, "err", err)
		}
		cancel()
	}
}

// releaseAll gives everything up at shutdown, the member key too.
func (l *Leases) releaseAll() {
	clear(l.mine)
	l.publish()
	// Every key naming this replica, read afresh: a take or renewal cut short by the
	// shutdown may have gone through without this replica hearing of it.
	keys := []string{"node." + l.opt.Node}
	for n := range l.opt.Shards {
		keys = append(keys, shardKey(n))
	}
	for _, task := range l.opt.Tasks {
		keys = append(keys, "task."+task)
	}
	revs := map[string]uint64{}
	for _, k := range keys {
		op, cancel := context.WithTimeout(context.Background(), l.opTimeout())
		e, err := l.kv.Get(op, k)
		cancel()
		if err == nil && (string(e.Value()) == l.opt.Node || strings.HasPrefix(k, "node.")) {
			revs[k] = e.Revision()
		}
	}
	l.deleteKeys(revs)
}

// publish makes l.mine what OwnsTarget and Holds answer from, and tells Changed.
func (l *Leases) publish() {
	h := &holding{shards: make([]bool, l.opt.Shards), tasks: map[string]bool{}}
	for k := range l.mine {
		if n, ok := strings.CutPrefix(k, "shard."); ok {
			if i, err := strconv.Atoi(n); err == nil && i < len(h.shards) {
				h.shards[i] = true
			}
		} else if task, ok := strings.CutPrefix(k, "task."); ok {
			h.tasks[task] = true
		}
	}
	l.held.Store(h)
	l.opt.Changed()
}

// compareRank orders keys by how much node wants them, most first (rendezvous
// hashing): the replicas prefer different shards, so they seldom race for one.
func compareRank(node, a, b string) int {
	ra, rb := rank(node, a), rank(node, b)
	switch {
	case ra > rb:
		return -1
	case ra < rb:
		return 1
	}
	return strings.Compare(a, b)
}

func rank(node, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(node))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return h.Sum64()
}
