package store

import (
	"context"
	"testing"
	"time"
)

func TestSourceProgressNeverGoesBackAndSilentSourcesAreForgotten(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		old := time.Now().Add(-48 * time.Hour)
		if err := s.SaveSourceProgress(ctx, map[string]uint64{"a": 100, "b": 7}, old); err != nil {
			t.Fatal(err)
		}
		// A batch stored late (a redelivery) does not lower what a is known to have sent.
		if err := s.SaveSourceProgress(ctx, map[string]uint64{"a": 40}, time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := s.SourceProgress(ctx)
		if err != nil || got["a"] != 100 || got["b"] != 7 {
			t.Fatalf("progress %v (%v), want a 100 and b 7", got, err)
		}
		if n, err := s.ForgetSourcesBefore(ctx, time.Now().Add(-24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("forgot %d (%v), want b only", n, err)
		}
		if got, _ := s.SourceProgress(ctx); len(got) != 1 || got["a"] != 100 {
			t.Fatalf("after forgetting: %v", got)
		}
	})
}
