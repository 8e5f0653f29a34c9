package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
)

// tryLogin signs in through h as if from addr (the server trusts 127.0.0.1 as a proxy)
// and returns the status and Retry-After header. It does not fail the test, so other
// goroutines may call it.
func (h *httpClient) tryLogin(addr, username, password string) (int, string, error) {
	raw, _ := json.Marshal(map[string]string{"username": username, "password": password})
	req, _ := http.NewRequest("POST", h.base+"/api/v1/auth/login", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := h.c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), err
}

// loginFrom is tryLogin that fails the test on a transport error.
func (h *httpClient) loginFrom(addr, username, password string) (int, string) {
	h.t.Helper()
	status, retry, err := h.tryLogin(addr, username, password)
	if err != nil {
		h.t.Fatal(err)
	}
	return status, retry
}

// TestLoginLimitsOnTheRealBinary: with the real password hash (bcrypt cost 10), 100
// wrong guesses at once reach it at most 5 times; the rest answer 429 with Retry-After.
// (Each client() has its own cookie jar: a browser of its own.) A browser that signed in before still signs in while strangers have locked the
// account, also after a restart (the device cookie key is kept in the data dir).
func TestLoginLimitsOnTheRealBinary(t *testing.T) {
	const adminPW = "admin-password"
	dataDir := t.TempDir()
	env := []string{"PINGDECK_DATA_DIR=" + dataDir, "PINGDECK_ADMIN_PASSWORD=" + adminPW, "PINGDECK_TRUSTED_PROXIES=127.0.0.1"}
	srv := startServer(t, env, "--listen", "127.0.0.1:0")

	browser := srv.client()
	if status, _ := browser.loginFrom("203.0.113.7", "admin", adminPW); status != 200 {
		t.Fatalf("admin signs in: %d", status)
	}

	var mu sync.Mutex
	statuses := map[int]int{}
	noRetry := 0
	var errs []error
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 100 {
		c := srv.client()
		wg.Go(func() {
			<-start
			status, retry, err := c.tryLogin("192.0.2.1", "admin", fmt.Sprintf("guess-%d", i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			statuses[status]++
			if status == 429 && retry == "" {
				noRetry++
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of 100 parallel guesses failed, first: %v", len(errs), errs[0])
	}
	if statuses[401] > 5 || statuses[401]+statuses[429] != 100 || noRetry != 0 {
		t.Fatalf("100 parallel wrong guesses from one address: %v (%d 429s without Retry-After); want at most 5×401, the rest 429", statuses, noRetry)
	}

	lockAdmin := func(p *proc) {
		t.Helper()
		for i := range 5 {
			p.client().loginFrom(fmt.Sprintf("198.51.100.%d", i+1), "admin", "guess")
		}
		if status, retry := p.client().loginFrom("198.51.100.99", "admin", adminPW); status != 429 || retry == "" {
			t.Fatalf("the right password from a new browser after 5 strangers' failures: %d (Retry-After %q); want 429", status, retry)
		}
	}
	lockAdmin(srv)
	if status, _ := browser.loginFrom("203.0.113.7", "admin", adminPW); status != 200 {
		t.Fatalf("the admin's own browser while strangers locked the account: %d; want 200", status)
	}

	srv.stop()
	again := startServer(t, env, "--listen", "127.0.0.1:0")
	browser.base = "http://" + again.addr // the cookie jar keys by host, not port
	lockAdmin(again)
	if status, _ := browser.loginFrom("203.0.113.7", "admin", adminPW); status != 200 {
		t.Fatalf("the admin's own browser after a restart, account locked for strangers: %d; want 200", status)
	}
	again.stop()
}
