package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"pingdeck/internal/groups"
)

// Agent is an enrolled agent: a prober at another site, known by the public half of its
// bus key. Name, location and key are each unique.
type Agent struct {
	ID        string
	Name      string
	Location  string
	PublicKey string
	CreatedBy *string // the admin who enrolled it, while that account exists
	CreatedAt time.Time
}

func (Agent) TableName() string { return "agents" }

// CreateAgent enrols an agent; a name, location or key already taken is a conflict.
func (s *Store) CreateAgent(ctx context.Context, a *Agent) error {
	return translate("create agent", s.db.WithContext(ctx).Create(a).Error)
}

// Agents lists the enrolled agents by name.
func (s *Store) Agents(ctx context.Context) ([]Agent, error) {
	var out []Agent
	if err := s.db.WithContext(ctx).Order("name").Find(&out).Error; err != nil {
		return nil, translate("list agents", err)
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, nil
}

// DeleteAgent revokes an agent: its row goes, and the deleted agent is returned.
func (s *Store) DeleteAgent(ctx context.Context, id string) (Agent, error) {
	var gone []Agent
	res := s.db.WithContext(ctx).Clauses(clause.Returning{}).Where("id = ?", id).Delete(&gone)
	if res.Error != nil {
		return Agent{}, translate("delete agent", res.Error)
	}
	if len(gone) == 0 {
		return Agent{}, fmt.Errorf("store: delete agent: %w", groups.ErrNotFound)
	}
	gone[0].CreatedAt = gone[0].CreatedAt.UTC()
	return gone[0], nil
}
