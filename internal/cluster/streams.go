package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamBucket is the key-value bucket of the users' open live streams.
const StreamBucket = "pingdeck_streams"

// Streams counts each user's live-stream sockets across the replicas, for the
// per-user cap (--max-streams-per-user). A user's key holds, per replica, how many
// sockets it has open under its current run; a replica writes only its own count, by
// compare-and-set, and counts another's only while that replica is live under the
// same run (Leases.Runs): a replica killed stops counting 5 s later, one restarted
// starts from nothing.
type Streams struct {
	kv     jetstream.KeyValue
	leases *Leases
	log    *slog.Logger

	openMu sync.Mutex // one Open at a time on this replica: the check and the count together

	mu     sync.Mutex
	local  map[string]int // this replica's open streams, by user
	closed chan string    // users whose count went down, for Run to write
}

// streamEntry is one replica's count of a user's streams.
type streamEntry struct {
	Run string `json:"run"`
	N   int    `json:"n"`
}

// OpenStreams makes sure the bucket exists.
func OpenStreams(ctx context.Context, js jetstream.JetStream, leases *Leases, replicas int, log *slog.Logger) (*Streams, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      StreamBucket,
		Description: "pingdeck users' open live streams, per replica",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: stream bucket %s: %w", StreamBucket, err)
	}
	return &Streams{kv: kv, leases: leases, log: log, local: map[string]int{}, closed: make(chan string, 4096)}, nil
}

func streamKey(userID string) string {
	sum := sha256.Sum256([]byte(userID))
	return "u." + hex.EncodeToString(sum[:16])
}

// Open counts one more stream of the user here unless limit are open across the
// replicas, and says whether it did. When the bus does not answer, it counts here
// only (the hub's own cap still holds) and says yes: a lost bus must not close the
// dashboards.
func (s *Streams) Open(ctx context.Context, userID string, limit int) bool {
	s.openMu.Lock()
	defer s.openMu.Unlock()
	s.mu.Lock()
	s.local[userID]++
	s.mu.Unlock()
	ok, err := s.write(ctx, userID, limit)
	if err != nil {
		s.log.Warn("cluster: counting live streams across replicas failed; counting on this replica only", "err", err)
		return true
	}
	if !ok {
		s.drop(userID)
	}
	return ok
}

// Close uncounts one stream of the user here. It never waits: Run writes the count.
func (s *Streams) Close(userID string) {
	s.drop(userID)
	select {
	case s.closed <- userID:
	default: // full: Run's periodic write catches up
	}
}

func (s *Streams) drop(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.local[userID]--; s.local[userID] <= 0 {
		delete(s.local, userID)
	}
}

// streamResync is how often Run writes every count of this replica again.
const streamResync = 30 * time.Second

// Run writes the counts that went down, and every streamResync all of this
// replica's, until ctx ends; then it takes this replica's counts out.
func (s *Streams) Run(ctx context.Context) {
	t := time.NewTicker(streamResync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			users := make([]string, 0, len(s.local))
			for u := range s.local {
				users = append(users, u)
			}
			clear(s.local)
			s.mu.Unlock()
			for _, u := range users {
				s.writeBounded(u)
			}
			return
		case u := <-s.closed:
			s.writeBounded(u)
		case <-t.C:
			s.mu.Lock()
			users := make([]string, 0, len(s.local))
			for u := range s.local {
				users = append(users, u)
			}
			s.mu.Unlock()
			for _, u := range users {
				s.writeBounded(u)
			}
		}
	}
}

func (s *Streams) writeBounded(userID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := s.write(ctx, userID, -1); err != nil {
		s.log.Debug("cluster: writing a user's stream count", "err", err)
	}
}

// write sets this replica's count of the user's streams in the user's key, dropping
// the counts of replicas gone or restarted. With limit ≥ 0 it writes only when the
// total stays within limit, and says whether it did.
func (s *Streams) write(ctx context.Context, userID string, limit int) (bool, error) {
	key := streamKey(userID)
	me := s.leases.Node()
	for range maxTries {
		counts := map[string]streamEntry{}
		var rev uint64
		e, err := s.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
		case err != nil:
			return false, err
		default:
			rev = e.Revision()
			_ = json.Unmarshal(e.Value(), &counts) // unreadable: counted as empty, rewritten
		}
		runs := s.leases.Runs()
		others := 0
		for node, c := range counts {
			if node == me {
				continue
			}
			if runs[node] != c.Run || c.N <= 0 {
				delete(counts, node)
				continue
			}
			others += c.N
		}
		s.mu.Lock()
		mine := s.local[userID]
		s.mu.Unlock()
		if limit >= 0 && others+mine > limit {
			return false, nil
		}
		if mine > 0 {
			counts[me] = streamEntry{Run: s.leases.RunID(), N: mine}
		} else {
			delete(counts, me)
		}
		switch {
		case len(counts) == 0 && rev == 0:
			return true, nil
		case len(counts) == 0:
			err = s.kv.Delete(ctx, key, jetstream.LastRevision(rev))
		case rev == 0:
			val, _ := json.Marshal(counts)
			_, err = s.kv.Create(ctx, key, val)
		default:
			val, _ := json.Marshal(counts)
			_, err = s.kv.Update(ctx, key, val, rev)
		}
		if err == nil {
			return true, nil
		}
		if !conflict(err) {
			return false, err
		}
	}
	return false, errors.New("cluster: a user's stream count kept changing under this replica")
}
