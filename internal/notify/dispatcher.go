package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Store is the persistence the Dispatcher needs (internal/store implements it).
type Store interface {
	// EnqueueDeliveries stores deliveries as pending, skipping any whose
	// (channel, notification id) is stored already; it returns the ones it added.
	EnqueueDeliveries(ctx context.Context, ds []Delivery) ([]Delivery, error)
	// ClaimDueDeliveries claims up to limit pending deliveries due at now, moving
	// their next try to leaseUntil so no other dispatcher sends them meanwhile.
	ClaimDueDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Delivery, error)
	// RecordDeliveryAttempt logs an attempt and sets the delivery's status, attempts,
	// next try and last error in one transaction.
	RecordDeliveryAttempt(ctx context.Context, a Attempt) error
	// NextDeliveryAt is when the earliest pending delivery is due (ok false: none).
	NextDeliveryAt(ctx context.Context) (at time.Time, ok bool, err error)
	// NotifyChannel returns a channel with its secret.
	NotifyChannel(ctx context.Context, id string) (*Channel, error)
}

// Options tune a Dispatcher; zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// Now is the clock (time.Now); tests move it instead of sleeping.
	Now func() time.Time
	// NewID makes delivery ids.
	NewID func() string
	// Workers is how many deliveries are sent at once (4).
	Workers int
	// Lease is how long a claimed delivery is reserved for its dispatcher before
	// another may take it over (2 min; longer than a send's timeout).
	Lease time.Duration
	// SendTimeout bounds one try (30 s).
	SendTimeout time.Duration
	// Idle is the longest the loop sleeps between looks at the database (30 s), so
	// deliveries enqueued by another process are picked up.
	Idle time.Duration
}

// Dispatcher stores and sends deliveries. Run's goroutine sends what is due; Enqueue
// wakes it.
type Dispatcher struct {
	store   Store
	log     *slog.Logger
	opts    Options
	senders *senders
	// wake holds at most one pending wake-up; a full buffer means one is pending
	// already, so the send is dropped.
	wake chan struct{}
}

// NewDispatcher returns a dispatcher over store; call Run to start sending.
func NewDispatcher(store Store, o Options) *Dispatcher {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = uuid.NewString
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.Idle <= 0 {
		o.Idle = 30 * time.Second
	}
	return &Dispatcher{store: store, log: o.Logger, opts: o,
		senders: &senders{http: newHTTPClients(), now: o.Now}, wake: make(chan struct{}, 1)}
}

// Enqueue stores one delivery of n for each channel, before anything is sent, and
// wakes the dispatcher. Enqueuing the same notification id for a channel again adds
// nothing, so a caller may retry Enqueue after an error.
func (d *Dispatcher) Enqueue(ctx context.Context, channelIDs []string, n Notification) error {
	if err := n.Validate(); err != nil {
		return err
	}
	if len(channelIDs) == 0 {
		return nil
	}
	now := d.opts.Now().UTC()
	ds := make([]Delivery, len(channelIDs))
	for i, ch := range channelIDs {
		ds[i] = Delivery{ID: d.opts.NewID(), ChannelID: ch, Notification: n, Status: StatusPending, NextAt: now, CreatedAt: now}
	}
	if _, err := d.store.EnqueueDeliveries(ctx, ds); err != nil {
		return fmt.Errorf("notify: enqueue %s: %w", n.ID, err)
	}
	d.poke()
	return nil
}

func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// SendTest sends a test notification to channel c now, through the same path as real
// ones (stored, logged, never retried), and returns the delivery with its outcome.
func (d *Dispatcher) SendTest(ctx context.Context, c *Channel, n Notification) (*Delivery, error) {
	n.Test = true
	now := d.opts.Now().UTC()
	del := Delivery{ID: d.opts.NewID(), ChannelID: c.ID, Notification: n, Status: StatusPending,
		NextAt: now.Add(d.opts.Lease), CreatedAt: now}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	if _, err := d.store.EnqueueDeliveries(ctx, []Delivery{del}); err != nil {
		return nil, fmt.Errorf("notify: store test delivery: %w", err)
	}
	a := d.attempt(ctx, c, &del)
	del.Attempts, del.Status, del.LastError = 1, a.Status, a.Error
	if a.Status == StatusSent {
		del.DeliveredAt = &a.At
	}
	return &del, nil
}

// Run sends due deliveries until ctx ends, then waits for the sends under way.
func (d *Dispatcher) Run(ctx context.Context) {
	defer d.senders.http.close()
	for {
		if _, err := d.SendDue(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("notify: send due deliveries", "err", err)
		}
		wait := d.opts.Idle
		if at, ok, err := d.store.NextDeliveryAt(ctx); err == nil && ok {
			wait = min(wait, max(at.Sub(d.opts.Now()), 10*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// SendDue claims the deliveries due now and sends them (Workers at a time), returning
// how many it tried. It returns when all have been tried.
func (d *Dispatcher) SendDue(ctx context.Context) (int, error) {
	tried := 0
	for {
		now := d.opts.Now().UTC()
		batch, err := d.store.ClaimDueDeliveries(ctx, now, now.Add(d.opts.Lease), 50)
		if err != nil || len(batch) == 0 {
			return tried, err
		}
		sem := make(chan struct{}, d.opts.Workers)
		var wg sync.WaitGroup
		for i := range batch {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				d.deliver(ctx, &batch[i])
			})
		}
		wg.Wait()
		tried += len(batch)
		if ctx.Err() != nil {
			return tried, ctx.Err()
		}
	}
}

// deliver sends one claimed delivery and records the outcome.
func (d *Dispatcher) deliver(ctx context.Context, del *Delivery) {
	c, err := d.store.NotifyChannel(ctx, del.ChannelID)
	if err != nil {
		// A deleted channel takes its deliveries with it (cascade); anything else is
		// the database's trouble: the lease runs out and the delivery is tried again.
		d.log.Warn("notify: load channel", "delivery", del.ID, "channel", del.ChannelID, "err", err)
		return
	}
	d.attempt(ctx, c, del)
}

// attempt tries del once on c and records the outcome.
func (d *Dispatcher) attempt(ctx context.Context, c *Channel, del *Delivery) Attempt {
	sendCtx, cancel := context.WithTimeout(ctx, d.opts.SendTimeout)
	err := d.senders.send(sendCtx, c, del)
	cancel()
	if err != nil && ctx.Err() != nil {
		// Shutting down mid-send: nothing is recorded; the lease runs out and a later
		// dispatcher tries again.
		return Attempt{DeliveryID: del.ID, At: d.opts.Now().UTC(), Status: StatusPending, Error: err.Error()}
	}
	a := outcome(del, err, d.opts.Now().UTC())
	if err != nil {
		d.log.Warn("notify: delivery failed", "delivery", del.ID, "channel", c.ID, "kind", c.Kind,
			"attempt", del.Attempts+1, "status", a.Status, "err", err)
	}
	// Record even when ctx has just ended: the receiver has the notification, and an
	// unrecorded success would be sent again.
	recCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := d.store.RecordDeliveryAttempt(recCtx, a); rerr != nil {
		d.log.Error("notify: record delivery attempt", "delivery", del.ID, "err", rerr)
	}
	return a
}

// senders holds what each kind's send needs.
type senders struct {
	http *httpClients
	now  func() time.Time
}

func (s *senders) send(ctx context.Context, c *Channel, d *Delivery) error {
	switch c.Kind {
	case KindWebhook:
		return s.sendWebhook(ctx, c, d)
	case KindSlack:
		return s.sendSlack(ctx, c, d)
	case KindEmail:
		return s.sendEmail(ctx, c, d)
	case KindAlertmanager:
		return s.sendAlertmanager(ctx, c, d)
	}
	return permanent(errors.New("unknown channel kind " + string(c.Kind)))
}
