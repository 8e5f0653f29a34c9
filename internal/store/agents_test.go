package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/groups"
)

func TestAgentsEnrolListRevoke(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		fra := Agent{ID: uuid.NewString(), Name: "fra-1", Location: "fra", PublicKey: "UFRA", CreatedAt: now}
		nyc := Agent{ID: uuid.NewString(), Name: "nyc-1", Location: "nyc", PublicKey: "UNYC", CreatedAt: now}
		for _, a := range []*Agent{&nyc, &fra} {
			if err := s.CreateAgent(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		for _, dup := range []Agent{
			{ID: uuid.NewString(), Name: "fra-1", Location: "ams", PublicKey: "U1", CreatedAt: now},
			{ID: uuid.NewString(), Name: "ams-1", Location: "fra", PublicKey: "U2", CreatedAt: now},
			{ID: uuid.NewString(), Name: "ams-1", Location: "ams", PublicKey: "UFRA", CreatedAt: now},
		} {
			if err := s.CreateAgent(ctx, &dup); !errors.Is(err, groups.ErrConflict) {
				t.Errorf("a second agent with %+v: %v, want a conflict", dup, err)
			}
		}
		list, err := s.Agents(ctx)
		if err != nil || len(list) != 2 || list[0].Name != "fra-1" || list[1].Location != "nyc" || !list[0].CreatedAt.Equal(now) {
			t.Fatalf("Agents = %+v, %v", list, err)
		}
		gone, err := s.DeleteAgent(ctx, fra.ID)
		if err != nil || gone.PublicKey != "UFRA" || gone.Location != "fra" {
			t.Fatalf("DeleteAgent = %+v, %v", gone, err)
		}
		if _, err := s.DeleteAgent(ctx, fra.ID); !errors.Is(err, groups.ErrNotFound) {
			t.Fatalf("deleting again: %v, want not found", err)
		}
		if list, _ := s.Agents(ctx); len(list) != 1 || list[0].ID != nyc.ID {
			t.Fatalf("after revoking: %+v", list)
		}
	})
}
