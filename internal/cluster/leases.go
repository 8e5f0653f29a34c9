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
	// Majority, when set, says whether this replica's NATS server reaches most of the
	// cluster's servers (asked at most once a renewal round, only when one failed). A lease that cannot be renewed while it does is kept up to
	// MaxUnrenewed: the bucket is electing a leader (its leader's server died), and
	// no other replica can take the lease before the new leader answers this one too.
	// Unset, or cut off: let go before the TTL.
	Majority func() bool
	// MaxUnrenewed bounds how long a lease is kept unrenewed while Majority holds:
	// 12 s, past a NATS election (up to 9 s after the leader's last heartbeat).
	MaxUnrenewed time.Duration
	Logger       *slog.Logger
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
	if o.MaxUnrenewed <= 0 {
		o.MaxUnrenewed = 12 * time.Second
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
	// Owned by Run's goroutine: the bucket did not answer the last announcement
	// (outage), and takes wait until settled, a Renew after it answers again, so that
	// the others' announcements and renewals are in the view first.
	outage  bool
	settled time.Time
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
