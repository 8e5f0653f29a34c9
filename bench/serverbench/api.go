//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"time"
)

// apiTimeout bounds one API call; making a group of 10,000 targets is the slowest.
const apiTimeout = 2 * time.Minute

// apiClient talks to one server's REST API as the signed-in admin.
type apiClient struct {
	base string
	http *http.Client
}

func newAPIClient(addr string) *apiClient {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &apiClient{base: "http://" + addr, http: &http.Client{Jar: jar, Timeout: apiTimeout}}
}

// call sends one request with a JSON body (if any) and decodes the JSON answer into
// out (if any); an answer other than want is an error that quotes it.
func (c *apiClient) call(ctx context.Context, method, path string, body any, want int, out any) error {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d: %.500s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// waitReady polls /readyz until it answers 200: the server listens before its database,
// bus and prober are up.
func (c *apiClient) waitReady(ctx context.Context, p *serverProcess, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := c.call(ctx, "GET", "/readyz", nil, http.StatusOK, nil)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", timeout, err)
		}
		if err := p.sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

func (c *apiClient) login(ctx context.Context) error {
	return c.call(ctx, "POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword}, http.StatusOK, nil)
}

// benchGroup is a group as the API returns it, with what the benchmark needs.
type benchGroup struct {
	ID      string `json:"id"`
	Targets []struct {
		ID      string `json:"id"`
		Address string `json:"address"`
	} `json:"targets"`
	Skipped []struct {
		Input  string `json:"input"`
		Reason string `json:"reason"`
	} `json:"skipped"`
}

// createGroup makes a group probing addrs every interval.
func (c *apiClient) createGroup(ctx context.Context, name string, interval time.Duration, addrs []string) (benchGroup, error) {
	var g benchGroup
	body := map[string]any{"name": name, "interval": interval.Milliseconds(), "targets": strings.Join(addrs, "\n")}
	if err := c.call(ctx, "POST", "/api/v1/groups", body, http.StatusCreated, &g); err != nil {
		return g, err
	}
	if len(g.Targets) != len(addrs) {
		why := ""
		if len(g.Skipped) > 0 {
			why = fmt.Sprintf(" (%s: %s)", g.Skipped[0].Input, g.Skipped[0].Reason)
		}
		return g, fmt.Errorf("group %s has %d targets, want %d%s", name, len(g.Targets), len(addrs), why)
	}
	return g, nil
}

// pauseGroup stops the probing of a group.
func (c *apiClient) pauseGroup(ctx context.Context, id string) error {
	return c.call(ctx, "PATCH", "/api/v1/groups/"+id, map[string]bool{"paused": true}, http.StatusOK, nil)
}

// scrape reads the server's /metrics (served without sign-in).
func (c *apiClient) scrape(ctx context.Context) (metrics, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d", resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	return parseMetrics(string(raw)), nil
}
