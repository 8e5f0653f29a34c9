//go:build linux

package instance

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

	"pingdeck/bench/internal/loopback"
	"pingdeck/bench/internal/promtext"
	"pingdeck/bench/internal/storedonce"
)

// apiTimeout bounds one API call; making a group of 10,000 targets is the slowest.
const apiTimeout = 2 * time.Minute

// Client talks to one server's REST API, signed in after Login.
type Client struct {
	base string
	http *http.Client
}

// NewClient is a client of the server at addr (host:port).
func NewClient(addr string) *Client {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &Client{base: "http://" + addr, http: &http.Client{Jar: jar, Timeout: apiTimeout}}
}

// Call sends one request with a JSON body (if any) and decodes the JSON answer into
// out (if any); an answer other than want is an error that quotes it.
func (c *Client) Call(ctx context.Context, method, path string, body any, want int, out any) error {
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

// WaitReady polls /readyz until it answers 200: the server listens before its
// database, bus and prober are up.
func (c *Client) WaitReady(ctx context.Context, p *Process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := c.Call(ctx, "GET", "/readyz", nil, http.StatusOK, nil)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", timeout, err)
		}
		if err := p.Sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// Login signs in as the admin.
func (c *Client) Login(ctx context.Context, password string) error {
	return c.Call(ctx, "POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": password}, http.StatusOK, nil)
}

// Group is a group as the API returns it, with what the benchmarks need.
type Group struct {
	ID      string              `json:"id"`
	Targets []storedonce.Target `json:"targets"`
	Skipped []struct {
		Input  string `json:"input"`
		Reason string `json:"reason"`
	} `json:"skipped"`
}

// LoopbackGroups are groups of loopback targets to make.
type LoopbackGroups struct {
	Name     string // the groups are "<Name> 1", "<Name> 2" …
	First, N int    // the targets' addresses: loopback.Address(First) onwards
	PerGroup int
	Interval time.Duration
	// Locations the groups are probed from; none: the server's default (its own).
	Locations []string
}

// CreateLoopbackGroups makes the groups, one POST each.
func (c *Client) CreateLoopbackGroups(ctx context.Context, s LoopbackGroups) ([]Group, error) {
	var out []Group
	for first := s.First; first < s.First+s.N; first += s.PerGroup {
		addrs := make([]string, min(s.PerGroup, s.First+s.N-first))
		for i := range addrs {
			addrs[i] = loopback.Address(first + i)
		}
		name := fmt.Sprintf("%s %d", s.Name, len(out)+1)
		body := map[string]any{"name": name, "interval": s.Interval.Milliseconds(), "targets": strings.Join(addrs, "\n")}
		if len(s.Locations) > 0 {
			body["locations"] = s.Locations
		}
		var g Group
		if err := c.Call(ctx, "POST", "/api/v1/groups", body, http.StatusCreated, &g); err != nil {
			return nil, err
		}
		if len(g.Targets) != len(addrs) {
			why := ""
			if len(g.Skipped) > 0 {
				why = fmt.Sprintf(" (%s: %s)", g.Skipped[0].Input, g.Skipped[0].Reason)
			}
			return nil, fmt.Errorf("group %s has %d targets, want %d%s", name, len(g.Targets), len(addrs), why)
		}
		out = append(out, g)
	}
	return out, nil
}

// TargetsOf lists the groups' targets.
func TargetsOf(groups []Group) []storedonce.Target {
	var out []storedonce.Target
	for _, g := range groups {
		out = append(out, g.Targets...)
	}
	return out
}

// PauseGroup stops the probing of a group.
func (c *Client) PauseGroup(ctx context.Context, id string) error {
	return c.Call(ctx, "PATCH", "/api/v1/groups/"+id, map[string]bool{"paused": true}, http.StatusOK, nil)
}

// Scrape reads the server's /metrics (served without sign-in).
func (c *Client) Scrape(ctx context.Context) (promtext.Metrics, error) {
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
	return promtext.Parse(string(raw)), nil
}
