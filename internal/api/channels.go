package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/notify"
	"pingdeck/internal/store"
)

// ChannelStore is the persistence of notification channels.
type ChannelStore interface {
	CreateNotifyChannel(ctx context.Context, c *notify.Channel) error
	UpdateNotifyChannel(ctx context.Context, c *notify.Channel) error
	DeleteNotifyChannel(ctx context.Context, id string) error
	NotifyChannel(ctx context.Context, id string) (*notify.Channel, error)
	NotifyChannelsFor(ctx context.Context, userID string, groupIDs []string) ([]notify.Channel, error)
	NotifyDeliveries(ctx context.Context, channelID string, limit int) ([]store.DeliveryLog, error)
}

var _ ChannelStore = (*store.Store)(nil)

// ChannelTester sends a channel a test notification (*notify.Dispatcher is one).
type ChannelTester interface {
	SendTest(ctx context.Context, c *notify.Channel, n notify.Notification) (*notify.Delivery, error)
}

var _ ChannelTester = (*notify.Dispatcher)(nil)

// deliveryListLimit bounds GET …/deliveries: the newest this many.
const deliveryListLimit = 100

// channelOut is a channel as the API shows it: never its secret.
type channelOut struct {
	ID            string          `json:"id"`
	Kind          notify.Kind     `json:"kind"`
	Name          string          `json:"name"`
	UserID        string          `json:"user_id,omitempty"`
	GroupID       string          `json:"group_id,omitempty"`
	Config        json.RawMessage `json:"config"`
	SecretSet     bool            `json:"secret_set"`
	AllowInternal bool            `json:"allow_internal"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
}

func channelOf(c *notify.Channel) channelOut {
	return channelOut{ID: c.ID, Kind: c.Kind, Name: c.Name, UserID: c.OwnerUserID, GroupID: c.OwnerGroupID,
		Config: c.Config, SecretSet: c.Secret != "", AllowInternal: c.AllowInternal,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

type channelRequest struct {
	Kind    *notify.Kind    `json:"kind"`
	Name    *string         `json:"name"`
	GroupID *string         `json:"group_id"`
	Config  json.RawMessage `json:"config"`
	// Secret replaces the stored one when present; "" clears it.
	Secret *string `json:"secret"`
}

func (s *server) channels() (ChannelStore, error) {
	if s.Channels == nil {
		return nil, &groups.Error{Kind: groups.ErrNotImplemented, Message: "notification channels are not enabled on this server"}
	}
	return s.Channels, nil
}

// checkChannel validates c and where it sends; only an admin's channel may reach
// loopback and link-local addresses.
func (s *server) checkChannel(ctx context.Context, u *auth.User, c *notify.Channel) error {
	c.AllowInternal = u.IsAdmin
	if err := c.Validate(); err != nil {
		return err
	}
	var r notify.Resolver = net.DefaultResolver
	if s.ChannelResolver != nil {
		r = s.ChannelResolver
	}
	return notify.CheckDestination(ctx, r, c)
}

// channelFor loads the channel named in the path if u may manage it: their own, or a
// group's they may edit (admins: any). Others' channels answer 404.
func (s *server) channelFor(c *gin.Context, u *auth.User) (*notify.Channel, error) {
	cs, err := s.channels()
	if err != nil {
		return nil, err
	}
	id, err := uuid.Parse(c.Param("channel_id"))
	if err != nil {
		return nil, groups.Invalid("channel_id", "must be a UUID")
	}
	ch, err := cs.NotifyChannel(c.Request.Context(), id.String())
	if err != nil {
		return nil, err
	}
	switch {
	case ch.OwnerGroupID != "":
		if _, _, err := s.authorizeGroup(c.Request.Context(), u, ch.OwnerGroupID, groups.ActionEdit); err != nil {
			return nil, err
		}
	case ch.OwnerUserID != u.ID && !u.IsAdmin:
		return nil, groups.NotFound("channel")
	}
	return ch, nil
}

// handleChannelList lists the user's channels and those of the groups they may edit.
func handleChannelList(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		cs, err := s.channels()
		if err != nil {
			return err
		}
		ctx, u := c.Request.Context(), currentUser(c)
		visible, err := s.Store.GroupsFor(ctx, actorOf(u), store.ScopeVisible)
		if err != nil {
			return err
		}
		var editable []string
		for _, v := range visible {
			if groups.RoleFor(actorOf(u), v.Group, v.ShareRole).Can(groups.ActionEdit) {
				editable = append(editable, v.Group.ID)
			}
		}
		list, err := cs.NotifyChannelsFor(ctx, u.ID, editable)
		if err != nil {
			return err
		}
		out := make([]channelOut, len(list))
		for i := range list {
			out[i] = channelOf(&list[i])
		}
		c.JSON(http.StatusOK, gin.H{"channels": out})
		return nil
	})
}

// handleChannelCreate makes a channel for the user, or for group_id (editors and up).
func handleChannelCreate(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		cs, err := s.channels()
		if err != nil {
			return err
		}
		var req channelRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		ctx, u := c.Request.Context(), currentUser(c)
		if req.Kind == nil {
			return groups.Invalid("kind", "is required: webhook, slack, email or alertmanager")
		}
		if req.Name == nil {
			return groups.Invalid("name", "is required")
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		ch := &notify.Channel{ID: uuid.NewString(), Kind: *req.Kind, Name: *req.Name, Config: req.Config,
			CreatedAt: now, UpdatedAt: now}
		if req.Secret != nil {
			ch.Secret = *req.Secret
		}
		if req.GroupID != nil && *req.GroupID != "" {
			gid, err := uuid.Parse(*req.GroupID)
			if err != nil {
				return groups.Invalid("group_id", "must be a UUID")
			}
			if _, _, err := s.authorizeGroup(ctx, u, gid.String(), groups.ActionEdit); err != nil {
				return err
			}
			ch.OwnerGroupID = gid.String()
		} else {
			ch.OwnerUserID = u.ID
		}
		if err := s.checkChannel(ctx, u, ch); err != nil {
			return err
		}
		if err := cs.CreateNotifyChannel(ctx, ch); err != nil {
			return err
		}
		c.JSON(http.StatusCreated, channelOf(ch))
		return nil
	})
}

// handleChannelUpdate changes a channel's name, config (replaced whole) or secret
// (kept when absent). Kind and owner do not change.
func handleChannelUpdate(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		u := currentUser(c)
		ch, err := s.channelFor(c, u)
		if err != nil {
			return err
		}
		var req channelRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		switch {
		case req.Kind != nil && *req.Kind != ch.Kind:
			return groups.Invalid("kind", "cannot change; make a new channel")
		case req.GroupID != nil && *req.GroupID != ch.OwnerGroupID:
			return groups.Invalid("group_id", "cannot change; make a new channel")
		}
		if req.Name != nil {
			ch.Name = *req.Name
		}
		if len(req.Config) > 0 && strings.TrimSpace(string(req.Config)) != "null" {
			ch.Config = req.Config
		}
		if req.Secret != nil {
			ch.Secret = *req.Secret
		}
		ch.UpdatedAt = time.Now().UTC().Truncate(time.Microsecond)
		if err := s.checkChannel(c.Request.Context(), u, ch); err != nil {
			return err
		}
		if err := s.Channels.UpdateNotifyChannel(c.Request.Context(), ch); err != nil {
			return err
		}
		c.JSON(http.StatusOK, channelOf(ch))
		return nil
	})
}

// handleChannelDelete deletes a channel and its delivery log.
func handleChannelDelete(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		ch, err := s.channelFor(c, currentUser(c))
		if err != nil {
			return err
		}
		if err := s.Channels.DeleteNotifyChannel(c.Request.Context(), ch.ID); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}

// handleChannelTest sends a test notification now and answers with its delivery.
func handleChannelTest(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		u := currentUser(c)
		ch, err := s.channelFor(c, u)
		if err != nil {
			return err
		}
		if s.Notifier == nil {
			return &groups.Error{Kind: groups.ErrNotImplemented, Message: "notifications are not being sent on this server"}
		}
		now := time.Now().UTC()
		id := uuid.NewString()
		n := notify.Notification{ID: "test-" + id, AlertID: "test-" + id, State: notify.Firing, Rule: "pingdeck test",
			Group: "test", Severity: "warning", Since: now, Figures: map[string]float64{"loss_pct": 0}}
		d, err := s.Notifier.SendTest(c.Request.Context(), ch, n)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, deliveryOf(store.DeliveryLog{Delivery: *d}))
		return nil
	})
}

// deliveryOut is one delivery with its log.
type deliveryOut struct {
	ID             string                `json:"id"`
	NotificationID string                `json:"notification_id"`
	State          notify.State          `json:"state"`
	Test           bool                  `json:"test"`
	Status         notify.DeliveryStatus `json:"status"`
	Attempts       int                   `json:"attempts"`
	LastError      string                `json:"last_error,omitempty"`
	NextAt         *time.Time            `json:"next_at,omitempty"`
	CreatedAt      time.Time             `json:"created_at"`
	DeliveredAt    *time.Time            `json:"delivered_at,omitempty"`
	Log            []attemptOut          `json:"log"`
}

type attemptOut struct {
	N      int                   `json:"n"`
	At     time.Time             `json:"at"`
	Status notify.DeliveryStatus `json:"status"`
	Error  string                `json:"error,omitempty"`
}

func deliveryOf(l store.DeliveryLog) deliveryOut {
	d := deliveryOut{ID: l.ID, NotificationID: l.Notification.ID, State: l.Notification.State, Test: l.Notification.Test,
		Status: l.Status, Attempts: l.Attempts, LastError: l.LastError, CreatedAt: l.CreatedAt, DeliveredAt: l.DeliveredAt,
		Log: make([]attemptOut, len(l.Log))}
	if l.Status == notify.StatusPending {
		d.NextAt = &l.NextAt
	}
	for i, a := range l.Log {
		d.Log[i] = attemptOut{N: a.N, At: a.At, Status: a.Status, Error: a.Error}
	}
	return d
}

// handleChannelDeliveries lists a channel's newest deliveries with their attempts.
func handleChannelDeliveries(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		ch, err := s.channelFor(c, currentUser(c))
		if err != nil {
			return err
		}
		logs, err := s.Channels.NotifyDeliveries(c.Request.Context(), ch.ID, deliveryListLimit)
		if err != nil {
			return err
		}
		out := make([]deliveryOut, len(logs))
		for i := range logs {
			out[i] = deliveryOf(logs[i])
		}
		c.JSON(http.StatusOK, gin.H{"deliveries": out})
		return nil
	})
}

// handleChannelGet returns one channel (without its secret).
func handleChannelGet(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		ch, err := s.channelFor(c, currentUser(c))
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, channelOf(ch))
		return nil
	})
}
