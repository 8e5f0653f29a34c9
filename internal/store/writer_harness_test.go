package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pingdeck/internal/ping"
)

// changes lets a test wait for a condition that other goroutines change: they call
// note after each change, and until checks the condition again at each one. The 15 s
// bound is for a writer that is stuck, not a timing check.
type changes struct {
	mu sync.Mutex
	ch chan struct{} // closed at the next note
}

func (c *changes) next() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

func (c *changes) note() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
	}
	c.ch = make(chan struct{})
}

func (c *changes) until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	stuck := time.After(15 * time.Second)
	for {
		next := c.next() // before cond, so no change between the two is missed
		if cond() {
			return
		}
		select {
		case <-next:
		case <-stuck:
			t.Fatalf("gave up waiting: %s", what)
		}
	}
}

// fakeClock is a clock that moves only when Advance says. Its tickers behave as
// time.Ticker's: a tick waits in a one-place buffer, and ticks that find it full are
// dropped.
type fakeClock struct {
	changes *changes // noted when a ticker is made
	mu      sync.Mutex
	now     time.Time
	tickers []*fakeTicker
}

type fakeTicker struct {
	clock  *fakeClock
	c      chan time.Time
	period time.Duration
	next   time.Time // guarded by clock.mu, as is stop
	stop   bool
}

func newFakeClock(c *changes) *fakeClock {
	return &fakeClock{changes: c, now: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTicker(d time.Duration) ticker {
	c.mu.Lock()
	tk := &fakeTicker{clock: c, c: make(chan time.Time, 1), period: d, next: c.now.Add(d)}
	c.tickers = append(c.tickers, tk)
	c.mu.Unlock()
	c.changes.note()
	return tk
}

// Advance moves the clock on by d and ticks every ticker whose time has come.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, tk := range c.tickers {
		if tk.stop || tk.next.After(c.now) {
			continue
		}
		select {
		case tk.c <- c.now:
		default:
		}
		for !tk.next.After(c.now) {
			tk.next = tk.next.Add(tk.period)
		}
	}
}

func (c *fakeClock) tickerCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tickers)
}

func (t *fakeTicker) C() <-chan time.Time { return t.c }
func (t *fakeTicker) Stop() {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	t.stop = true
}

var _ clock = (*fakeClock)(nil)

// laneSeen is what a test knows of one lane from its steps.
type laneSeen struct {
	results, ticks, wakes int
	writing               bool
}

// testWriter is a ResultWriter on a fake clock, with what a test needs to wait for its
// lanes instead of sleeping: each lane reports every event it handles (stepped), and
// the test moves the clock itself, so nothing happens that it did not cause.
type testWriter struct {
	*ResultWriter
	clock    *fakeClock
	changes  *changes
	accepted atomic.Int64 // results Submit took
	stop     func()       // stops Run and waits for it; also at cleanup

	mu    sync.Mutex
	known []laneSeen // by lane
}

// newWriter makes a writer on a fake clock without starting it.
func newWriter(t testing.TB, st resultStore, o WriterOptions) *testWriter {
	t.Helper()
	c := &changes{}
	tw := &testWriter{ResultWriter: NewResultWriter(st, o), clock: newFakeClock(c), changes: c, stop: func() {}}
	tw.ResultWriter.clock = tw.clock
	tw.known = make([]laneSeen, len(tw.lanes))
	tw.stepped = tw.saw
	return tw
}

// startWriter makes a writer on a fake clock and runs it until the test ends or stop.
func startWriter(t testing.TB, st resultStore, o WriterOptions) *testWriter {
	t.Helper()
	tw := newWriter(t, st, o)
	tw.start(t)
	return tw
}

// start runs the writer and returns once its tickers exist, so that the clock's moves
// reach them.
func (tw *testWriter) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { tw.Run(ctx) })
	tw.stop = sync.OnceFunc(func() { cancel(); wg.Wait() })
	t.Cleanup(tw.stop)
	tw.changes.until(t, "the writer's tickers", func() bool { return tw.clock.tickerCount() == len(tw.lanes)+1 })
}

func (tw *testWriter) saw(s laneStep) {
	tw.mu.Lock()
	l := &tw.known[s.lane]
	switch s.event {
	case laneResult:
		l.results++
	case laneTick:
		l.ticks++
	case laneWoken:
		l.wakes++
	}
	l.writing = s.writing
	tw.mu.Unlock()
	tw.changes.note()
}

// seen sums f over the lanes.
func (tw *testWriter) seen(f func(laneSeen) int) int {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	n := 0
	for _, l := range tw.known {
		n += f(l)
	}
	return n
}

// until waits for cond, checking it again after each step of a lane.
func (tw *testWriter) until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	tw.changes.until(t, what, cond)
}

// Submit is ResultWriter.Submit, counting what it takes.
func (tw *testWriter) Submit(r ping.Result) bool {
	ok := tw.ResultWriter.Submit(r)
	if ok {
		tw.accepted.Add(1)
	}
	return ok
}

// submitAll submits rs; the queue must take every one.
func (tw *testWriter) submitAll(t testing.TB, rs []ping.Result) {
	t.Helper()
	for i, r := range rs {
		if !tw.Submit(r) {
			t.Fatalf("Submit refused result %d of %d", i, len(rs))
		}
	}
}

// taken waits until the lanes have handled every result Submit took.
func (tw *testWriter) taken(t testing.TB) {
	t.Helper()
	tw.until(t, "the lanes to take what was submitted", func() bool {
		return tw.seen(func(l laneSeen) int { return l.results }) == int(tw.accepted.Load())
	})
}

// idle waits until the lanes have taken what was submitted and no write is under way:
// the lanes then hold still until the clock moves, a result comes or Wake is called.
func (tw *testWriter) idle(t testing.TB) {
	t.Helper()
	tw.taken(t)
	tw.until(t, "the writes under way to end", func() bool {
		return tw.seen(func(l laneSeen) int {
			if l.writing {
				return 1
			}
			return 0
		}) == 0
	})
}

// tick moves the clock on by d, at least FlushEvery (so every lane's ticker fires
// exactly once), and waits until every lane has handled the tick.
func (tw *testWriter) tick(t testing.TB, d time.Duration) {
	t.Helper()
	if d < tw.o.FlushEvery {
		t.Fatalf("tick(%v) is shorter than FlushEvery %v", d, tw.o.FlushEvery)
	}
	want := make([]int, len(tw.known))
	tw.mu.Lock()
	for i, l := range tw.known {
		want[i] = l.ticks + 1
	}
	tw.mu.Unlock()
	tw.clock.Advance(d)
	tw.until(t, "every lane to handle the tick", func() bool {
		tw.mu.Lock()
		defer tw.mu.Unlock()
		for i, l := range tw.known {
			if l.ticks < want[i] {
				return false
			}
		}
		return true
	})
}

// flush writes what the lanes hold and waits until they are done: what a FlushEvery
// tick does once the full batches are written.
func (tw *testWriter) flush(t testing.TB) {
	t.Helper()
	tw.idle(t)
	tw.tick(t, tw.o.FlushEvery)
	tw.idle(t)
}

// wake calls Wake and waits until every lane has handled it.
func (tw *testWriter) wake(t testing.TB) {
	t.Helper()
	want := tw.seen(func(l laneSeen) int { return l.wakes }) + len(tw.lanes)
	tw.Wake()
	tw.until(t, "every lane to handle the wake", func() bool {
		return tw.seen(func(l laneSeen) int { return l.wakes }) == want
	})
}
