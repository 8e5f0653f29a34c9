package api_test

import (
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"pingdeck/frontend"
)

// TestSecurityHeaders: the dashboard could be framed by any site (clickjacking) and had
// no content security policy. Every answer — the app, its assets, the API, errors —
// carries a strict CSP that only this origin may frame, nosniff and a referrer policy.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{})
	anon, admin := e.anon(), e.login("admin")
	asset := firstAsset(t, ".js")
	for _, tc := range []struct {
		name   string
		c      *client
		method string
		path   string
		status int
	}{
		{"dashboard", anon, "GET", "/", 200},
		{"script", anon, "GET", "/assets/" + asset, 200},
		{"api", admin, "GET", "/api/v1/me", 200},
		{"api unauthenticated", anon, "GET", "/api/v1/groups", 401},
		{"unknown api route", anon, "GET", "/api/v1/nope", 404},
		{"health", anon, "GET", "/healthz", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, resp := tc.c.in(t).do(tc.method, tc.path, nil)
			if status != tc.status {
				t.Fatalf("%s %s: %d, want %d", tc.method, tc.path, status, tc.status)
			}
			checkSecurityHeaders(t, resp.Header)
		})
	}
	t.Run("cross-origin refusal", func(t *testing.T) {
		c := admin.in(t)
		c.header = http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
		status, _, resp := c.do("POST", "/api/v1/groups", map[string]any{"name": "x"})
		if status != 403 {
			t.Fatalf("cross-origin POST: %d, want 403", status)
		}
		checkSecurityHeaders(t, resp.Header)
	})
}

func checkSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		if name, value, _ := strings.Cut(strings.TrimSpace(d), " "); name != "" {
			directives[name] = value
		}
	}
	for name, want := range map[string]string{
		"default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "connect-src": "'self'",
		"object-src": "'none'", "base-uri": "'none'", "frame-ancestors": "'self'",
	} {
		if directives[name] != want {
			t.Errorf("CSP %s = %q, want %q (policy %q)", name, directives[name], want, csp)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("CSP allows something unsafe: %q", csp)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	if got := h.Get("Referrer-Policy"); got == "" || got == "unsafe-url" {
		t.Errorf("Referrer-Policy = %q", got)
	}
}

// TestBuiltAppNeedsNoUnsafeCSP: the strict policy above holds only while the built app
// has no inline script, inline style or event-handler attribute in its HTML and no eval
// in its bundles. A rebuild that adds one fails here, not silently in a browser.
func TestBuiltAppNeedsNoUnsafeCSP(t *testing.T) {
	dist := frontend.Dist()
	index, err := fs.ReadFile(dist, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		what string
		re   *regexp.Regexp
	}{
		{"inline <script>", regexp.MustCompile(`(?is)<script\b[^>]*>\s*[^<\s]`)},
		{"<style> element", regexp.MustCompile(`(?i)<style\b`)},
		{"style attribute", regexp.MustCompile(`(?i)\sstyle\s*=`)},
		{"event-handler attribute", regexp.MustCompile(`(?i)\son[a-z]+\s*=`)},
		{"javascript: URL", regexp.MustCompile(`(?i)javascript:`)},
	} {
		if loc := bad.re.FindIndex(index); loc != nil {
			t.Errorf("index.html has an %s (%q), which the CSP blocks", bad.what, index[loc[0]:min(loc[1]+40, len(index))])
		}
	}
	for _, tag := range regexp.MustCompile(`(?i)<script\b[^>]*>`).FindAll(index, -1) {
		if !regexp.MustCompile(`(?i)\ssrc\s*=`).Match(tag) {
			t.Errorf("index.html has a <script> without src (%q), which the CSP blocks", tag)
		}
	}
	evals := regexp.MustCompile(`\beval\(|new Function\(|setAttribute\(\s*["']style["']`)
	err = fs.WalkDir(dist, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") {
			return err
		}
		js, err := fs.ReadFile(dist, path)
		if err != nil {
			return err
		}
		if loc := evals.FindIndex(js); loc != nil {
			t.Errorf("%s uses %q, which the CSP blocks", path, js[loc[0]:loc[1]])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// firstAsset names a built asset with the suffix.
func firstAsset(t *testing.T, suffix string) string {
	t.Helper()
	entries, err := fs.ReadDir(frontend.Dist(), "assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), suffix) {
			return e.Name()
		}
	}
	t.Fatalf("no built asset ends in %s", suffix)
	return ""
}
