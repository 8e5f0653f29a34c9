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

func TestGroupAssignment(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := newUser(t, s, "alice")
		g := newGroup(t, s, alice.ID, "g", groups.Private, "192.0.2.1", "192.0.2.2")
		a, err := s.GroupAssignment(ctx, g.ID)
		if err != nil || len(a.Locations) != 1 || a.Locations[0] != "local" || len(a.Targets) != 2 || !a.Targets[g.Targets[0].ID] {
			t.Fatalf("a group probed from here: %+v, %v", a, err)
		}
		g.Locations = []string{"local", "fra"}
		if err := s.UpdateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		if a, err = s.GroupAssignment(ctx, g.ID); err != nil || len(a.Locations) != 2 || a.Locations[1] != "fra" {
			t.Fatalf("after adding fra: %+v, %v", a, err)
		}
		if a, err = s.GroupAssignment(ctx, uuid.NewString()); err != nil || len(a.Locations) != 0 || len(a.Targets) != 0 {
			t.Fatalf("a group that is not there: %+v, %v", a, err)
		}
	})
}
