package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// httpClients are the clients senders post with: one that refuses internal addresses
// at dial time and one, for admins' channels, that does not. Neither follows redirects
// (a redirect could lead to an internal address) nor uses a proxy from the environment.
type httpClients struct {
	guarded, open *http.Client
}

func newHTTPClients() *httpClients {
	return &httpClients{guarded: newHTTPClient(false), open: newHTTPClient(true)}
}

func newHTTPClient(allowInternal bool) *http.Client {
	t := &http.Transport{
		DialContext:           newDialer(allowInternal).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          20,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second,
	}
	return &http.Client{
		Transport:     t,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (h *httpClients) close() {
	h.guarded.CloseIdleConnections()
	h.open.CloseIdleConnections()
}

func (h *httpClients) forChannel(c *Channel) *http.Client {
	if c.AllowInternal {
		return h.open
	}
	return h.guarded
}

// post sends body to url and maps the answer: 2xx is success; 408, 425, 429 and 5xx
// are worth retrying; other statuses are permanent failures.
func post(ctx context.Context, client *http.Client, url string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return permanent(fmt.Errorf("build request: %w", err))
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "pingdeck-notify/1")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("HTTP %s: %s", resp.Status, bytes.TrimSpace(snippet))
	switch c := resp.StatusCode; {
	case c == http.StatusRequestTimeout, c == http.StatusTooEarly, c == http.StatusTooManyRequests, c >= 500:
		return err
	}
	return permanent(err)
}
