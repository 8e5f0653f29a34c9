//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pingdeck/internal/live/livetest"
)

const clientsRole = "-clients-role"

// clientReport is what the clients process measured.
type clientReport struct {
	P50ms, P99ms int
	Items        int64
	Messages     int64
	Closed       int     // sockets the server closed during the run
	CPUPercent   float64 // this process's CPU while measuring, % of one core
}

// latencyHist counts publish → receive latencies in 1 ms buckets, sharded to keep
// thousands of readers off one cache line.
type latencyHist struct {
	shards [64][maxLatencyMs + 1]atomic.Int64
}

const maxLatencyMs = 10000

func (h *latencyHist) addN(shard int, ms, n int64) {
	h.shards[shard%64][max(0, min(ms, maxLatencyMs))].Add(n)
}

func (h *latencyHist) quantiles(qs ...float64) ([]int, int64) {
	var counts [maxLatencyMs + 1]int64
	var total int64
	for s := range h.shards {
		for i := range counts {
			v := h.shards[s][i].Load()
			counts[i] += v
			total += v
		}
	}
	out := make([]int, len(qs))
	for qi, q := range qs {
		want := int64(q * float64(total))
		var run int64
		for i, c := range counts {
			run += c
			if run > want {
				out[qi] = i
				break
			}
		}
	}
	return out, total
}

// runClients is the clients process: n sockets, each subscribing to its share of the
// pool, reading every message and timing every item from its "at" to its arrival.
func runClients(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("clients", flag.ContinueOnError)
	addr := fs.String("addr", "", "")
	token := fs.String("token", "", "")
	groupList := fs.String("groups", "", "")
	perClient := fs.Int("per-client", 10, "")
	n := fs.Int("n", 1000, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raiseFileLimit()
	pool := strings.Split(*groupList, ",")
	h := http.Header{}
	h.Set("Authorization", "Bearer "+*token)

	var (
		hist      latencyHist
		measuring atomic.Bool
		messages  atomic.Int64
		closed    atomic.Int64
		wg        sync.WaitGroup
	)
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	conns := make([]*livetest.Conn, 0, *n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()

	// Connect with bounded concurrency; each socket subscribes once hello arrived.
	sem := make(chan struct{}, 32)
	var mu sync.Mutex
	var dialErr error
	var dials sync.WaitGroup
	for i := range *n {
		sem <- struct{}{}
		dials.Add(1)
		go func() {
			defer dials.Done()
			defer func() { <-sem }()
			c, _, err := livetest.Dial(ctx, "ws://"+*addr+"/api/v1/ws", h, livetest.Options{ReadBufferSize: 16 << 10})
			if err == nil {
				if _, err = c.Read(time.Now().Add(time.Minute)); err == nil { // hello
					groups := make([]string, *perClient)
					for j := range groups {
						groups[j] = pool[(i+j*7)%len(pool)]
					}
					err = c.WriteJSON(map[string]any{"type": "subscribe", "groups": groups})
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				dialErr = errors.Join(dialErr, err)
				return
			}
			conns = append(conns, c)
			wg.Add(1)
			go func() {
				defer wg.Done()
				readLoop(readCtx, c, i, &hist, &measuring, &messages, &closed)
			}()
		}()
	}
	dials.Wait()
	if dialErr != nil {
		return fmt.Errorf("clients: %w", dialErr)
	}
	fmt.Fprintln(stdout, "connected")

	in := bufio.NewScanner(stdin)
	var cpu0 time.Duration
	var t0 time.Time
	for in.Scan() {
		switch in.Text() {
		case "measure":
			measuring.Store(true)
			cpu0, t0 = cpuTime(), time.Now()
			stopProfile := startCPUProfile("LIVEBENCH_CLIENT_CPUPROFILE")
			defer stopProfile()
		case "stop":
			measuring.Store(false)
			cpuPct := 100 * (cpuTime() - cpu0).Seconds() / time.Since(t0).Seconds()
			q, total := hist.quantiles(0.5, 0.99)
			out, _ := json.Marshal(clientReport{P50ms: q[0], P99ms: q[1], Items: total, Messages: messages.Load(),
				Closed: int(closed.Load()), CPUPercent: cpuPct})
			fmt.Fprintf(stdout, "report %s\n", out)
			return nil
		}
	}
	return errors.New("clients: no stop")
}

var resultsPrefix = []byte(`{"type":"results","seq":`)

// readLoop reads one socket until it ends, timing the items of results messages.
func readLoop(ctx context.Context, c *livetest.Conn, shard int, hist *latencyHist, measuring *atomic.Bool, messages, closed *atomic.Int64) {
	buf := make([]byte, 0, 32<<10)
	var run latencyRun
	for ctx.Err() == nil {
		data, err := c.ReadInto(buf, time.Now().Add(2*time.Minute))
		if err != nil {
			var ce *livetest.CloseError
			if errors.As(err, &ce) && ce.Code != 1001 && ctx.Err() == nil {
				closed.Add(1)
			}
			return
		}
		buf = data[:0]
		now := time.Now().UnixMilli()
		if !bytes.HasPrefix(data, resultsPrefix) || !measuring.Load() {
			continue
		}
		messages.Add(1)
		forEachAt(data, func(at int64) { run.add(hist, shard, now-at) })
		run.flush(hist, shard)
	}
}

// latencyRun counts equal latencies before adding them to the shared histogram: the
// items of one message mostly share a few values, so this saves most atomic adds.
type latencyRun struct {
	ms, n int64
}

func (r *latencyRun) add(h *latencyHist, shard int, ms int64) {
	if r.n > 0 && ms != r.ms {
		r.flush(h, shard)
	}
	r.ms = ms
	r.n++
}

func (r *latencyRun) flush(h *latencyHist, shard int) {
	if r.n > 0 {
		h.addN(shard, r.ms, r.n)
		r.n = 0
	}
}

var (
	itemStart = []byte(`{"g":`)
	nextItem  = []byte(`},{"g":`)
	atKey     = []byte(`,"at":`)
)

// The server writes an item as {"g":"<uuid>","t":"<uuid>","at":…: with UUIDs (as in
// this benchmark) "at" is at a fixed offset, checked before it is trusted.
const uuidAtOffset = len(`{"g":"`) + 36 + len(`","t":"`) + 36 + len(`","at":`)

// forEachAt calls f with the "at" of every item of a results message, reading the
// message's own layout (items as the server writes them) instead of searching every
// byte; an item laid out otherwise is found the slow way.
func forEachAt(msg []byte, f func(at int64)) {
	i := bytes.Index(msg, []byte(`"items":[`))
	if i < 0 {
		return
	}
	b := msg[i+len(`"items":[`):]
	for bytes.HasPrefix(b, itemStart) {
		var v []byte
		if len(b) > uuidAtOffset && bytes.Equal(b[uuidAtOffset-len(atKey):uuidAtOffset], atKey) {
			v = b[uuidAtOffset:]
		} else if j := bytes.Index(b, atKey); j >= 0 {
			v = b[j+len(atKey):]
		} else {
			return
		}
		var at int64
		k := 0
		for k < len(v) && v[k] >= '0' && v[k] <= '9' {
			at = at*10 + int64(v[k]-'0')
			k++
		}
		if k > 0 {
			f(at)
		}
		// The item ends at the first "},{" followed by the next item's key.
		rest := v[k:]
		for {
			e := bytes.IndexByte(rest, '}')
			if e < 0 {
				return
			}
			if bytes.HasPrefix(rest[e:], nextItem) {
				b = rest[e+2:]
				break
			}
			if e+1 < len(rest) && rest[e+1] == ']' {
				return
			}
			rest = rest[e+1:]
		}
	}
}
