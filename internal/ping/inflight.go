package ping

import (
	"sync"
	"time"
)

// inflight tracks one target's probes between send and reply or deadline, and turns
// each into exactly one Result.
type inflight struct {
	mu      sync.Mutex
	t       Target
	engine  string
	metrics *Metrics
	emit    func(Result)
	pending map[int]time.Time // sequence → send time
	due     time.Time         // when the next send is scheduled, for the lag metric
}

// newInflight starts tracking probes whose first send is due at firstDue.
func newInflight(t Target, engine string, m *Metrics, emit func(Result), firstDue time.Time) *inflight {
	return &inflight{t: t, engine: engine, metrics: m, emit: emit, pending: map[int]time.Time{}, due: firstDue}
}

func (f *inflight) sent(seq int, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expire(at)
	f.pending[seq] = at
	lag := at.Sub(f.due)
	f.due = f.due.Add(f.t.Interval)
	f.count(func(m *Metrics) {
		m.Sent.WithLabelValues(f.engine).Inc()
		m.Lag.WithLabelValues(f.engine).Observe(max(lag, 0).Seconds())
	})
}

func (f *inflight) received(seq int, rtt time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sentAt, ok := f.pending[seq]
	if !ok {
		return // already counted lost, or not ours
	}
	delete(f.pending, seq)
	if rtt > f.t.Timeout {
		f.lost(sentAt)
		return
	}
	f.count(func(m *Metrics) { m.Received.WithLabelValues(f.engine).Inc() })
	f.emit(Result{TargetID: f.t.ID, GroupID: f.t.GroupID, SentAt: sentAt, RTT: rtt, OK: true})
}

func (f *inflight) sendFailed(at time.Time, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count(func(m *Metrics) { m.SendErrors.WithLabelValues(f.engine).Inc() })
	f.emit(Result{TargetID: f.t.ID, GroupID: f.t.GroupID, SentAt: at, Err: "send: " + err.Error()})
}

// expire reports every probe whose deadline has passed by now as lost.
func (f *inflight) expire(now time.Time) {
	for seq, sentAt := range f.pending {
		if now.Sub(sentAt) >= f.t.Timeout {
			delete(f.pending, seq)
			f.lost(sentAt)
		}
	}
}

// finish ends tracking: probes past their deadline are lost; on shutdown, probes
// still within it are dropped unreported rather than counted as losses.
func (f *inflight) finish(shutdown bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for seq, sentAt := range f.pending {
		if !shutdown || now.Sub(sentAt) >= f.t.Timeout {
			f.lost(sentAt)
		}
		delete(f.pending, seq)
	}
}

func (f *inflight) lost(sentAt time.Time) {
	f.count(func(m *Metrics) { m.Lost.WithLabelValues(f.engine).Inc() })
	f.emit(Result{TargetID: f.t.ID, GroupID: f.t.GroupID, SentAt: sentAt, Err: ErrTimeout})
}

func (f *inflight) count(inc func(*Metrics)) {
	if f.metrics != nil {
		inc(f.metrics)
	}
}
