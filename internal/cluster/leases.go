// Package cluster splits the work that must be done once among the live replicas of
// pingdeck (DESIGN §9): the `local` targets, in shards, and single tasks (housekeeping,
// alert rules). Each is a lease: a key in a JetStream key-value bucket whose TTL ends
// it unless its holder renews it, taken and renewed by compare-and-set on the key's
// revision, so that no two replicas hold one at once. There is no membership protocol
// of its own: a replica is live while its member key is renewed.
//
// Keys: node.<name> (a live replica), shard.<n> and task.<name> (held by the replica
// the value names).
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the key-value bucket of the leases.
const Bucket = "pingdeck_leases"

// Options configure the leases of one replica.
type Options struct {
	// Node names this replica (unique among the replicas; a KV key token).
	Node string
	// Shards is how many shards the targets are split into (64).
	Shards int
	// TTL is how long a lease lasts unrenewed (5 s): a replica killed loses its
	// shards that long after its last renewal.
	TTL time.Duration
	// Renew is how often leases are renewed and the fair share recomputed (1 s).
	Renew time.Duration
	// Handover is how long a replica waits between no longer using a shard it gives
	// away and releasing it, for its prober to stop probing it (250 ms).
	Handover time.Duration
	// Replicas is how many copies JetStream keeps of the bucket.
	Replicas int
	// Tasks are the single leases this replica competes for (housekeeping…).
	Tasks []string
	// TasksOnly: this replica takes no shards (it cannot probe) and does not count
	// in the others' fair share.
	TasksOnly bool
	// Changed is called, on Run's goroutine, after the shards held changed: before a
	// shard is released and after one is taken. It must not block for long.
	Changed func()
	Logger  *slog.Logger
}

func (o *Options) defaults() {
	if o.Shards <= 0 {
		o.Shards = 64
	}
	if o.TTL <= 0 {
		o.TTL = 5 * time.Second
	}
	if o.Renew <= 0 {
		o.Renew = time.Second
	}
	if o.Handover <= 0 {
		o.Handover = 250 * time.Millisecond
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Changed == nil {
		o.Changed = func() {}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Leases are one replica's part in the split: what it holds, renewed until Run ends.
type Leases struct {
	kv  jetstream.KeyValue
	opt Options
	// run names this start of the replica: what it counted before a restart (under
	// the same node name) is not counted again.
	run string

	// held is what this replica holds now, for OwnsTarget and Holds (any goroutine).
	held atomic.Pointer[holding]

	mu   sync.Mutex
	view map[string]seen // the bucket as the watcher last told it
	wake chan struct{}   // a key was released: look for work at once

	// Owned by Run's goroutine: the revision of each key held, and when it was
	// last renewed.
	mine map[string]lease
}

type seen struct {
	value string
	at    time.Time // when this revision arrived (local clock)
}

type lease struct {
	rev     uint64
	renewed time.Time
}

// holding is an immutable snapshot of the keys held.
type holding struct {
	shards []bool
	tasks  map[string]bool
}

// ValidNode reports whether name can name a replica: a KV key token of 1-64
// characters of a-z, A-Z, 0-9, - and _.
func ValidNode(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Open makes sure the bucket exists (with opt.TTL and opt.Replicas) and returns the
// replica's leases, holding nothing until Run.
func Open(ctx context.Context, js jetstream.JetStream, opt Options) (*Leases, error) {
	opt.defaults()
	if !ValidNode(opt.Node) {
		return nil, fmt.Errorf("cluster: node name %q must be 1-64 of a-z, A-Z, 0-9, - and _", opt.Node)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "pingdeck replicas' leases: who probes which shard of targets, who runs which task",
		History:     1,
		TTL:         opt.TTL,
		Storage:     jetstream.FileStorage,
		Replicas:    opt.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: lease bucket %s: %w", Bucket, err)
	}
	l := &Leases{kv: kv, opt: opt, run: newRunID(), view: map[string]seen{}, wake: make(chan struct{}, 1), mine: map[string]lease{}}
	l.held.Store(&holding{shards: make([]bool, opt.Shards), tasks: map[string]bool{}})
	return l, nil
}

// ShardOf is the shard a target belongs to.
func (l *Leases) ShardOf(targetID string) int { return shardOf(targetID, l.opt.Shards) }

func shardOf(id string, shards int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(shards))
}

// OwnsTarget reports whether this replica probes the target now.
func (l *Leases) OwnsTarget(targetID string) bool {
	return l.held.Load().shards[l.ShardOf(targetID)]
}

// Holds reports whether this replica holds the task's lease now.
func (l *Leases) Holds(task string) bool { return l.held.Load().tasks[task] }

// Shards lists the shards this replica holds now.
func (l *Leases) Shards() []int {
	var out []int
	for i, h := range l.held.Load().shards {
		if h {
			out = append(out, i)
		}
	}
	return out
}

// tasksOnly is the member key's value of a replica that takes no shards.
const tasksOnly = "tasks-only"

// Members lists the live replicas that probe, as this one sees them, itself included.
func (l *Leases) Members() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.membersLocked(time.Now())
}

func (l *Leases) membersLocked(now time.Time) []string {
	var out []string
	if !l.opt.TasksOnly {
		out = append(out, l.opt.Node)
	}
	for k, s := range l.view {
		role, _, _ := strings.Cut(s.value, " ")
		if name, ok := strings.CutPrefix(k, "node."); ok && name != l.opt.Node && now.Sub(s.at) < l.opt.TTL && role != tasksOnly {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Runs maps each live replica (probing or not) to its run, itself included: counts
// a replica keeps elsewhere are its own only under its current run.
func (l *Leases) Runs() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	out := map[string]string{l.opt.Node: l.run}
	for k, s := range l.view {
		if name, ok := strings.CutPrefix(k, "node."); ok && name != l.opt.Node && now.Sub(s.at) < l.opt.TTL {
			if _, run, ok := strings.Cut(s.value, " "); ok {
				out[name] = run
			}
		}
	}
	return out
}

// Node is this replica's name.
func (l *Leases) Node() string { return l.opt.Node }

// RunID names this start of the replica.
func (l *Leases) RunID() string { return l.run }

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func shardKey(n int) string { return "shard." + strconv.Itoa(n) }

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
	if _, err := l.kv.Put(op, "node."+l.opt.Node, []byte(role+" "+l.run)); err != nil && ctx.Err() == nil {
		l.opt.Logger.Warn("cluster: announcing this replica failed", "node", l.opt.Node, "err", err)
	}
	cancel()
	changed := l.renew(ctx)

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
			if l.take(ctx, k) {
				want--
				changed = true
			}
		}
	}
	for _, k := range freeTasks {
		if l.take(ctx, k) {
			changed = true
		}
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
	for k, h := range l.mine {
		op, cancel := context.WithTimeout(ctx, l.opTimeout())
		rev, err := l.kv.Update(op, k, []byte(l.opt.Node), h.rev)
		cancel()
		switch {
		case err == nil:
			l.mine[k] = lease{rev: rev, renewed: time.Now()}
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyNotFound):
			l.opt.Logger.Warn("cluster: lost a lease (it lapsed or another replica took it)", "key", k, "err", err)
			delete(l.mine, k)
			dropped = true
		case time.Since(h.renewed) >= l.opt.TTL-l.opt.Renew:
			if ctx.Err() == nil {
				l.opt.Logger.Warn("cluster: cannot renew a lease; letting it go before it lapses", "key", k, "err", err)
			}
			delete(l.mine, k)
			dropped = true
		}
	}
	return dropped
}

// take tries to take key k by compare-and-set: created when absent, or updated from
// the revision this replica last saw when its holder let it lapse or it is this
// replica's own from before a restart.
func (l *Leases) take(ctx context.Context, k string) bool {
	op, cancel := context.WithTimeout(ctx, l.opTimeout())
	defer cancel()
	rev, err := l.kv.Create(op, k, []byte(l.opt.Node))
	if errors.Is(err, jetstream.ErrKeyExists) {
		e, gerr := l.kv.Get(op, k)
		if gerr != nil || string(e.Value()) != l.opt.Node {
			return false // held by another, or lapsing: the bucket's TTL ends it
		}
		rev, err = l.kv.Update(op, k, []byte(l.opt.Node), e.Revision()) // ours, from before a restart
	}
	if err != nil {
		return false
	}
	l.mine[k] = lease{rev: rev, renewed: time.Now()}
	return true
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
	revs := make(map[string]uint64, len(l.mine))
	for k, h := range l.mine {
		revs[k] = h.rev
	}
	clear(l.mine)
	l.publish()
	l.deleteKeys(revs)
	op, cancel := context.WithTimeout(context.Background(), l.opTimeout())
	defer cancel()
	_ = l.kv.Delete(op, "node."+l.opt.Node)
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

// OthersLive lists the other replicas announced on the bus within the TTL, read
// straight from the bucket (before Run): a replica that must be alone (one on SQLite)
// asks at start.
func (l *Leases) OthersLive(ctx context.Context) ([]string, error) {
	lister, err := l.kv.ListKeysFiltered(ctx, "node.*")
	if err != nil {
		return nil, fmt.Errorf("cluster: list replicas: %w", err)
	}
	defer lister.Stop()
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var out []string
	for _, k := range keys {
		name := strings.TrimPrefix(k, "node.")
		if name == l.opt.Node {
			continue
		}
		e, err := l.kv.Get(ctx, k)
		if err != nil {
			continue // lapsed meanwhile
		}
		if time.Since(e.Created()) < l.opt.TTL {
			out = append(out, name)
		}
	}
	return out, nil
}
