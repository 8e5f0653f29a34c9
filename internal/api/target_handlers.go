package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"pingdeck/internal/groups"
	"pingdeck/internal/store"
	"pingdeck/internal/wire"
)

const reasonAlreadyInGroup = "already in this group"

// prepareTargets parses pasted input into new targets for a group that already holds
// the addresses in have, and looks their hostnames up (see resolveHostnames; unresolved
// maps the IDs of names kept although they did not resolve to why). Creation times are
// a microsecond apart so targets list in the order entered. The owner's quota is
// applied by the store, in the transaction that inserts them (see quotaSkipped).
func (s *server) prepareTargets(ctx context.Context, input targetList, have map[string]bool, now time.Time, allowUnresolved bool) (
	targets []groups.Target, skipped []groups.SkippedInput, unresolved map[string]string) {
	parsed, skipped := groups.ParseTargets(groups.SplitTargetInput(input...), s.Policy)
	targets = make([]groups.Target, 0, len(parsed))
	for _, p := range parsed {
		if have[p.Address] {
			skipped = append(skipped, groups.SkippedInput{Input: p.Address, Reason: reasonAlreadyInGroup})
			continue
		}
		targets = append(targets, groups.Target{ID: uuid.NewString(), Address: p.Address, IP: p.IP,
			CreatedAt: now.Add(time.Duration(len(targets)) * time.Microsecond)})
	}
	targets, unresolvable, unresolved := s.resolveHostnames(ctx, targets, allowUnresolved)
	return targets, append(skipped, unresolvable...), unresolved
}

// quota is the per-user limits the store checks atomically with each insert.
func (s *server) quota() store.Quota {
	return store.Quota{MaxGroups: s.Limits.MaxGroupsPerUser, MaxTargets: s.Limits.MaxTargetsPerUser}
}

// quotaSkipped says, per target the store left out, that the owner's quota is full.
func (s *server) quotaSkipped(skipped []groups.SkippedInput, over []groups.Target) []groups.SkippedInput {
	for _, t := range over {
		skipped = append(skipped, groups.SkippedInput{Input: t.Address,
			Reason: fmt.Sprintf("over the group owner's quota of %d targets (--max-targets-per-user)", s.Limits.MaxTargetsPerUser)})
	}
	return skipped
}

// addTargets adds pasted input to an existing group, within the owner's quota;
// addresses it already has (including ones a concurrent request just added) are
// reported as skipped. unresolved names the added hostnames that did not resolve.
func (s *server) addTargets(ctx context.Context, g *groups.Group, input targetList, allowUnresolved bool) (
	added []groups.Target, skipped []groups.SkippedInput, unresolved map[string]string, err error) {
	existing, err := s.Store.Targets(ctx, g.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	have := make(map[string]bool, len(existing))
	for _, t := range existing {
		have[t.Address] = true
	}
	targets, skipped, unresolved := s.prepareTargets(ctx, input, have, time.Now().UTC(), allowUnresolved)
	added, over, err := s.Store.AddTargets(ctx, g.ID, targets, s.quota())
	if err != nil {
		return nil, nil, nil, err
	}
	skipped = s.quotaSkipped(skipped, over)
	settled := make(map[string]bool, len(added)+len(over))
	for _, t := range added {
		settled[t.ID] = true
	}
	for _, t := range over {
		settled[t.ID] = true
	}
	for _, t := range targets {
		if !settled[t.ID] {
			skipped = append(skipped, groups.SkippedInput{Input: t.Address, Reason: reasonAlreadyInGroup})
		}
	}
	return added, skipped, unresolved, nil
}

func withoutReason(skipped []groups.SkippedInput, reason string) []groups.SkippedInput {
	out := skipped[:0]
	for _, s := range skipped {
		if s.Reason != reason {
			out = append(out, s)
		}
	}
	return out
}

type targetsRequest struct {
	Targets targetList `json:"targets"`
	// AllowUnresolved adds hostnames that do not resolve (yet) instead of skipping them.
	AllowUnresolved bool `json:"allow_unresolved"`
}

type targetsAdded struct {
	Added   []wire.Target         `json:"added"`
	Skipped []groups.SkippedInput `json:"skipped"`
}

// handleTargetsAdd adds pasted IPs, hostnames and CIDRs to a group and says, per input,
// what was added and why anything was skipped.
func handleTargetsAdd(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		var req targetsRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if len(groups.SplitTargetInput(req.Targets...)) == 0 {
			return groups.Invalid("targets", "is required: a list of addresses or one string of pasted text")
		}
		v, _, err := s.loadGroup(c, groups.ActionEdit)
		if err != nil {
			return err
		}
		added, skipped, unresolved, err := s.addTargets(c.Request.Context(), v.Group, req.Targets, req.AllowUnresolved)
		if err != nil {
			return err
		}
		out := targetsAdded{Added: markUnresolved(wire.TargetsOf(added), unresolved), Skipped: skipped}
		if out.Skipped == nil {
			out.Skipped = []groups.SkippedInput{}
		}
		c.JSON(http.StatusOK, out)
		return nil
	})
}

type targetPatch struct {
	Paused *bool `json:"paused"`
}

// handleTargetPatch pauses or resumes one target.
func handleTargetPatch(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		var req targetPatch
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.Paused == nil {
			return groups.Invalid("paused", "is required (true or false)")
		}
		groupID, targetID, err := s.loadTarget(c)
		if err != nil {
			return err
		}
		ctx := c.Request.Context()
		if err := s.Store.SetTargetPaused(ctx, groupID, targetID, *req.Paused); err != nil {
			return err
		}
		t, err := s.Store.Target(ctx, groupID, targetID)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, wire.TargetOf(t))
		return nil
	})
}

// handleTargetDelete removes one target.
func handleTargetDelete(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		groupID, targetID, err := s.loadTarget(c)
		if err != nil {
			return err
		}
		if err := s.Store.DeleteTarget(c.Request.Context(), groupID, targetID); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}

// loadTarget checks the user may edit the {id} group and that {target_id} is in it.
func (s *server) loadTarget(c *gin.Context) (groupID, targetID string, err error) {
	targetID, err = pathUUID(c, "target_id")
	if err != nil {
		return "", "", err
	}
	v, _, err := s.loadGroup(c, groups.ActionEdit)
	if err != nil {
		return "", "", err
	}
	if _, err := s.Store.Target(c.Request.Context(), v.Group.ID, targetID); err != nil {
		if errors.Is(err, groups.ErrNotFound) {
			return "", "", groups.NotFound("target")
		}
		return "", "", err
	}
	return v.Group.ID, targetID, nil
}
