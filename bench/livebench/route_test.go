//go:build linux

package main

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/ping"
)

func TestParsePathsTakesBusDirectOrBoth(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "bus", want: []string{pathBus}},
		{in: "direct", want: []string{pathDirect}},
		{in: "bus, direct", want: []string{pathBus, pathDirect}},
		{in: "direct,bus,direct", want: []string{pathDirect, pathBus}},
		{in: "nats", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parsePaths(tt.in)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Fatalf("parsePaths(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// recordingHub stands in for the hub: it keeps what is published.
type recordingHub struct {
	mu  sync.Mutex
	got []ping.Result
}

func (h *recordingHub) Publish(rs ...ping.Result) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, rs...)
}

func (h *recordingHub) results() []ping.Result {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// The bus path must bring the hub what was submitted, for a group the hub follows,
// with the SentAt it was submitted with (where delivery latency starts), and count it
// on both ends; the direct path does so at once.
func TestRoutesDeliverWhatWasSubmittedWithItsSentAt(t *testing.T) {
	for _, path := range []string{pathBus, pathDirect} {
		t.Run(path, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			route, err := openRoute(ctx, path, t.TempDir(), nil, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			group := uuid.NewString()
			if f := route.hubFeed(); (f == nil) != (path == pathDirect) {
				t.Fatalf("hubFeed on the %s path = %v", path, f)
			} else if f != nil {
				if err := f.Follow(group); err != nil {
					t.Fatal(err)
				}
			}
			hub := &recordingHub{}
			var wg sync.WaitGroup
			wg.Go(func() { route.runPublisher(ctx) })
			wg.Go(func() { route.runFeed(ctx, hub) })
			defer func() {
				cancel()
				wg.Wait()
				if err := route.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()

			sent := time.Now().Truncate(time.Microsecond) // the wire carries µs
			want := ping.Result{GroupID: group, TargetID: uuid.NewString(), SentAt: sent, OK: true, RTT: 1500 * time.Microsecond}
			route.submit(hub, want)
			deadline := time.Now().Add(10 * time.Second)
			for len(hub.results()) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			got := hub.results()
			if len(got) != 1 {
				t.Fatalf("the hub got %d results, want 1", len(got))
			}
			if g := got[0]; g.GroupID != want.GroupID || g.TargetID != want.TargetID || !g.SentAt.Equal(sent) || !g.OK || g.RTT != want.RTT {
				t.Fatalf("the hub got %+v, want %+v", g, want)
			}
			if s, d := route.submitted.Load(), route.delivered.Load(); s != 1 || d != 1 {
				t.Fatalf("counted %d submitted, %d delivered; want 1 and 1", s, d)
			}
		})
	}
}
