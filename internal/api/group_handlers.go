package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/store"
	"pingdeck/internal/wire"
)

// groupRequest is the body of POST and PUT /groups.
type groupRequest struct {
	Name       *string       `json:"name"`
	Targets    targetList    `json:"targets"`
	Interval   *durationJSON `json:"interval"`
	Timeout    *durationJSON `json:"timeout"`
	PacketSize *int          `json:"packet_size"`
	Visibility *string       `json:"visibility"`
	Paused     *bool         `json:"paused"`
	Metrics    *bool         `json:"metrics"`
	Locations  *[]string     `json:"locations"`
	// AllowUnresolved adds hostnames that do not resolve (yet) instead of skipping them.
	AllowUnresolved bool `json:"allow_unresolved"`
}

// groupPatch is the body of PATCH /groups/{id}: settings only. Locations, when set,
// replaces where the group is probed from (see applyLocations).
type groupPatch struct {
	Name       *string       `json:"name"`
	Interval   *durationJSON `json:"interval"`
	Timeout    *durationJSON `json:"timeout"`
	PacketSize *int          `json:"packet_size"`
	Visibility *string       `json:"visibility"`
	Paused     *bool         `json:"paused"`
	Metrics    *bool         `json:"metrics"`
	Locations  *[]string     `json:"locations"`
}

func (p *groupPatch) toDomain() groups.Patch {
	out := groups.Patch{
		Name: p.Name, Interval: durationPtr(p.Interval), Timeout: durationPtr(p.Timeout),
		PacketSize: p.PacketSize, Paused: p.Paused, Metrics: p.Metrics,
	}
	if p.Visibility != nil {
		v := groups.Visibility(*p.Visibility)
		out.Visibility = &v
	}
	return out
}

func (r *groupRequest) settings() groupPatch {
	return groupPatch{Name: r.Name, Interval: r.Interval, Timeout: r.Timeout,
		PacketSize: r.PacketSize, Visibility: r.Visibility, Paused: r.Paused, Metrics: r.Metrics, Locations: r.Locations}
}

// handleGroupCreate creates a group with a server-chosen ID.
func handleGroupCreate(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		var req groupRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		u := currentUser(c)
		out, err := s.createGroup(c.Request.Context(), u, uuid.NewString(), &req)
		if err != nil {
			return err
		}
		c.JSON(http.StatusCreated, out)
		return nil
	})
}

// handleGroupPut creates a group with the client's UUID, idempotently: repeating the
// request applies the same settings and adds no target twice, and answers 200.
func handleGroupPut(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		id, err := pathUUID(c, "id")
		if err != nil {
			return err
		}
		var req groupRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		ctx, u := c.Request.Context(), currentUser(c)
		existing, err := s.Store.GroupFor(ctx, id, u.ID)
		if errors.Is(err, groups.ErrNotFound) {
			out, createErr := s.createGroup(ctx, u, id, &req)
			if createErr == nil {
				c.JSON(http.StatusCreated, out)
				return nil
			}
			if !errors.Is(createErr, groups.ErrConflict) {
				return createErr
			}
			// Another request created it first: answer as a repeat of that one.
			existing, err = s.Store.GroupFor(ctx, id, u.ID)
		}
		if err != nil {
			return err
		}
		if existing.Group.OwnerID != u.ID {
			return groups.Conflict("id", "a group with this id already exists and belongs to someone else")
		}
		out, err := s.ensureGroup(ctx, u, existing, &req)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, out)
		return nil
	})
}

func (s *server) createGroup(ctx context.Context, u *auth.User, id string, req *groupRequest) (*wire.Group, error) {
	if req.Name == nil {
		return nil, groups.Invalid("name", "is required")
	}
	now := time.Now().UTC()
	g := &groups.Group{ID: id, OwnerID: u.ID, OwnerName: u.Username, CreatedAt: now, UpdatedAt: now}
	g.ApplyDefaults(s.Limits)
	patch := req.settings()
	patch.toDomain().Apply(g)
	if err := g.Validate(s.Limits); err != nil {
		return nil, err
	}
	if err := s.applyLocations(ctx, g, patch.Locations); err != nil {
		return nil, err
	}
	var skipped []groups.SkippedInput
	var unresolved map[string]string
	g.Targets, skipped, unresolved = s.prepareTargets(ctx, req.Targets, nil, now, req.AllowUnresolved)
	over, err := s.Store.CreateGroup(ctx, g, s.quota())
	if err != nil {
		return nil, err
	}
	out := s.groupOut(g, groups.RoleOwner, len(g.Targets))
	markUnresolved(out.Targets, unresolved)
	out.Skipped = s.quotaSkipped(skipped, over)
	return &out, nil
}

// ensureGroup is a repeated PUT: apply the settings, add the targets not there yet.
func (s *server) ensureGroup(ctx context.Context, u *auth.User, v *store.GroupWithRole, req *groupRequest) (*wire.Group, error) {
	g := v.Group
	before := *g
	patch := req.settings()
	domainPatch := patch.toDomain()
	limits := domainPatch.Limits(g, s.Limits)
	domainPatch.Apply(g)
	if err := g.Validate(limits); err != nil {
		return nil, err
	}
	if err := s.applyLocations(ctx, g, patch.Locations); err != nil {
		return nil, err
	}
	if !g.SameSettings(&before) || g.Paused != before.Paused {
		g.UpdatedAt = time.Now().UTC()
		if err := s.Store.UpdateGroup(ctx, g); err != nil {
			return nil, err
		}
	}
	var skipped []groups.SkippedInput
	var unresolved map[string]string
	if len(req.Targets) > 0 {
		_, sk, unres, err := s.addTargets(ctx, g, req.Targets, req.AllowUnresolved)
		if err != nil {
			return nil, err
		}
		skipped = withoutReason(sk, reasonAlreadyInGroup)
		unresolved = unres
	}
	targets, err := s.Store.Targets(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	g.Targets = targets
	out := s.groupOut(g, groups.RoleFor(actorOf(u), g, v.ShareRole), len(targets))
	markUnresolved(out.Targets, unresolved)
	out.Skipped = skipped
	return &out, nil
}

// handleGroupList lists the groups in the requested scope (default: all the user can
// see; dashboard: own and pinned; public; all: every group, for admins), each with the
// user's role and whether they pinned it.
func handleGroupList(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		u := currentUser(c)
		views, err := s.Store.GroupsFor(c.Request.Context(), actorOf(u), store.GroupScope(c.Query("scope")))
		if err != nil {
			return err
		}
		firing := map[string]int{}
		if s.AlertViews != nil && len(views) > 0 {
			ids := make([]string, len(views))
			for i, v := range views {
				ids[i] = v.Group.ID
			}
			if firing, err = s.AlertViews.FiringAlertCounts(c.Request.Context(), ids); err != nil {
				return err
			}
		}
		out := make([]wire.Group, 0, len(views))
		for i := range views {
			g := s.groupViewOut(&views[i], groups.RoleFor(actorOf(u), views[i].Group, views[i].ShareRole))
			n := firing[g.ID]
			g.FiringAlerts = &n
			out = append(out, g)
		}
		c.JSON(http.StatusOK, gin.H{"groups": out})
		return nil
	})
}

// loadGroup reads the {id} group and checks the user may do action to it.
func (s *server) loadGroup(c *gin.Context, action groups.Action) (*store.GroupWithRole, groups.Role, error) {
	return s.loadGroupParam(c, "id", action)
}

// loadGroupParam reads the group named by the path parameter param and checks the user
// may do action to it.
func (s *server) loadGroupParam(c *gin.Context, param string, action groups.Action) (*store.GroupWithRole, groups.Role, error) {
	id, err := pathUUID(c, param)
	if err != nil {
		return nil, groups.RoleNone, err
	}
	return s.authorizeGroup(c.Request.Context(), currentUser(c), id, action)
}

// authorizeGroup reads group id as u sees it and checks u may do action to it: a group
// u may not see is not-found, exactly like a missing one (groups.Authorize).
func (s *server) authorizeGroup(ctx context.Context, u *auth.User, id string, action groups.Action) (*store.GroupWithRole, groups.Role, error) {
	v, err := s.Store.GroupFor(ctx, id, u.ID)
	if errors.Is(err, groups.ErrNotFound) {
		return nil, groups.RoleNone, groups.NotFound("group")
	}
	if err != nil {
		return nil, groups.RoleNone, err
	}
	role := groups.RoleFor(actorOf(u), v.Group, v.ShareRole)
	if err := groups.Authorize(role, action); err != nil {
		return nil, role, err
	}
	return v, role, nil
}

// handleGroupGet returns one group with its targets.
func handleGroupGet(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, role, err := s.loadGroup(c, groups.ActionView)
		if err != nil {
			return err
		}
		if v.Group.Targets, err = s.Store.Targets(c.Request.Context(), v.Group.ID); err != nil {
			return err
		}
		c.JSON(http.StatusOK, s.groupViewOut(v, role))
		return nil
	})
}

// handleGroupPatch changes a group's settings, where it is probed from included.
func handleGroupPatch(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		var req groupPatch
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		patch := req.toDomain()
		v, role, err := s.loadGroup(c, patch.Action())
		if err != nil {
			return err
		}
		limits := patch.Limits(v.Group, s.Limits)
		patch.Apply(v.Group)
		if err := v.Group.Validate(limits); err != nil {
			return err
		}
		if err := s.applyLocations(c.Request.Context(), v.Group, req.Locations); err != nil {
			return err
		}
		v.Group.UpdatedAt = time.Now().UTC()
		if err := s.Store.UpdateGroup(c.Request.Context(), v.Group); err != nil {
			return err
		}
		c.JSON(http.StatusOK, s.groupViewOut(v, role))
		return nil
	})
}

// handleGroupDelete removes a group and everything in it.
func handleGroupDelete(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		v, _, err := s.loadGroup(c, groups.ActionManage)
		if err != nil {
			return err
		}
		if err := s.Store.DeleteGroup(c.Request.Context(), v.Group.ID); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}
