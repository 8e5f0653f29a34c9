package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"pingdeck/internal/notify"
)

// receiver is a webhook endpoint that checks signatures and answers from a script.
type receiver struct {
	secret string
	mu     sync.Mutex
	codes  []int // answers to give, in order; 200 once they run out
	got    []receivedHook
}

type receivedHook struct {
	code       int
	signed     bool
	deliveryID string
	body       map[string]any
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	h := receivedHook{code: http.StatusOK, signed: notify.VerifySignature(rc.secret, body, r.Header.Get(notify.SignatureHeader)),
		deliveryID: r.Header.Get(notify.DeliveryHeader)}
	_ = json.Unmarshal(body, &h.body)
	if len(rc.codes) > 0 {
		h.code, rc.codes = rc.codes[0], rc.codes[1:]
	}
	if !h.signed {
		h.code = http.StatusUnauthorized
	}
	rc.got = append(rc.got, h)
	w.WriteHeader(h.code)
}

func (rc *receiver) hooks() []receivedHook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedHook(nil), rc.got...)
}

// TestWebhookRetriesThenDeliversOnceAcrossRestart: the receiver answers 500 twice; the
// first dispatcher stops after one try; a new dispatcher on the same database retries
// when due and delivers; nothing is sent again afterwards.
func TestWebhookRetriesThenDeliversOnceAcrossRestart(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		const secret = "s3cret-s3cret-s3cret"
		rc := &receiver{secret: secret, codes: []int{500, 500}}
		srv := httptest.NewServer(rc)
		defer srv.Close()

		s := openStore(t, dsn)
		ch := newChannel(t, s, notify.KindWebhook, `{"url":"`+srv.URL+`/hook"}`, secret, true)
		clk := newClock()
		first := notify.NewDispatcher(s, notify.Options{Now: clk.Now})
		n := firing("a1", clk.Now())
		if err := first.Enqueue(ctx, []string{ch.ID}, n); err != nil {
			t.Fatal(err)
		}
		if err := first.Enqueue(ctx, []string{ch.ID}, n); err != nil { // the alerts engine retrying
			t.Fatal(err)
		}
		if tried, err := first.SendDue(ctx); err != nil || tried != 1 {
			t.Fatalf("first SendDue tried %d, %v; want 1", tried, err)
		}
		if tried, _ := first.SendDue(ctx); tried != 0 {
			t.Fatalf("retried before the backoff passed")
		}

		// "Restart": a new dispatcher on a new connection to the same database.
		s2 := openStore(t, dsn)
		second := notify.NewDispatcher(s2, notify.Options{Now: clk.Now})
		for range 10 {
			clk.Add(10 * time.Minute)
			if _, err := second.SendDue(ctx); err != nil {
				t.Fatal(err)
			}
		}

		hooks := rc.hooks()
		if len(hooks) != 3 {
			t.Fatalf("receiver got %d requests, want 3 (500, 500, then 200)", len(hooks))
		}
		for i, h := range hooks {
			if !h.signed {
				t.Errorf("request %d: signature does not verify", i)
			}
			if h.deliveryID != hooks[0].deliveryID || h.deliveryID == "" {
				t.Errorf("request %d: delivery id %q, want the same on every retry", i, h.deliveryID)
			}
			if h.body["id"] != n.ID || h.body["state"] != "firing" || h.body["rule"] != "core down" {
				t.Errorf("request %d: body %v", i, h.body)
			}
		}
		if hooks[2].code != 200 {
			t.Fatalf("last answer %d, want 200", hooks[2].code)
		}
		logs := deliveries(t, s2, ch.ID)
		if len(logs) != 1 || logs[0].Status != notify.StatusSent || logs[0].Attempts != 3 || len(logs[0].Log) != 3 ||
			!strings.Contains(logs[0].Log[0].Error, "500") {
			t.Fatalf("delivery log = %+v; want one delivery, sent on the 3rd attempt after two HTTP 500s", logs)
		}
	})
}

// TestWebhookPermanentFailure: a 4xx is not retried.
func TestWebhookPermanentFailure(t *testing.T) {
	ctx := context.Background()
	rc := &receiver{secret: "another-secret-value"}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s := sqliteStore(t)
	ch := newChannel(t, s, notify.KindWebhook, `{"url":"`+srv.URL+`"}`, "a-wrong-secret-value", true)
	clk := newClock()
	d := notify.NewDispatcher(s, notify.Options{Now: clk.Now})
	if err := d.Enqueue(ctx, []string{ch.ID}, firing("a2", clk.Now())); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := d.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Hour)
	}
	logs := deliveries(t, s, ch.ID)
	if len(rc.hooks()) != 1 || len(logs) != 1 || logs[0].Status != notify.StatusFailed || !strings.Contains(logs[0].LastError, "401") {
		t.Fatalf("requests %d, log %+v; want one try, failed with the 401", len(rc.hooks()), logs)
	}
}

// TestDeliveriesGiveUpAfterADay: a receiver that never answers well is given up on.
func TestDeliveriesGiveUpAfterADay(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	s := sqliteStore(t)
	ch := newChannel(t, s, notify.KindWebhook, `{"url":"`+srv.URL+`"}`, "0123456789abcdef", true)
	clk := newClock()
	d := notify.NewDispatcher(s, notify.Options{Now: clk.Now})
	if err := d.Enqueue(ctx, []string{ch.ID}, firing("a3", clk.Now())); err != nil {
		t.Fatal(err)
	}
	for range 400 {
		if _, err := d.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Add(5 * time.Minute)
	}
	logs := deliveries(t, s, ch.ID)
	l := logs[0]
	// 1+2+…+256 s ≈ 8.5 min, then every 5 min until 24 h: 9 + ~286 tries.
	if l.Status != notify.StatusFailed || l.Attempts < 250 || l.Attempts > 300 {
		t.Fatalf("after a day of 503s: status %s after %d attempts; want failed after ~295", l.Status, l.Attempts)
	}
}

// TestRunSendsWhatIsEnqueued: the dispatcher's goroutine wakes on Enqueue and stops
// with its context, leaving no goroutine behind.
func TestRunSendsWhatIsEnqueued(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get(notify.DeliveryHeader)
	}))
	defer srv.Close()
	s := sqliteStore(t)
	ch := newChannel(t, s, notify.KindWebhook, `{"url":"`+srv.URL+`"}`, "0123456789abcdef", true)
	// Run's goroutine, its sends and its connections end when it returns.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	d := notify.NewDispatcher(s, notify.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	if err := d.Enqueue(ctx, []string{ch.ID}, firing("a4", time.Now())); err != nil {
		t.Fatal(err)
	}
	id := <-got
	waitFor(t, "the delivery to be recorded as sent", func() bool {
		logs := deliveries(t, s, ch.ID)
		return len(logs) == 1 && logs[0].ID == id && logs[0].Status == notify.StatusSent
	})
	cancel()
	<-done
}
