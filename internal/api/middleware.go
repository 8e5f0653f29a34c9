package api

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
)

const (
	sessionCookie = "pingdeck_session"
	userKey       = "pingdeck.user"
	credentialKey = "pingdeck.credential"
)

// wrap turns a handler that returns an error into a gin handler that reports it.
func (s *server) wrap(h func(c *gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			writeError(c, s.Logger, err)
		}
	}
}

// requireUser authenticates by bearer token or session cookie and stores the user and
// the credential in the context; without either it answers 401.
func requireUser(s *server) gin.HandlerFunc {
	return func(c *gin.Context) {
		u, cred, err := authenticate(c, s)
		if err != nil {
			writeError(c, s.Logger, err)
			return
		}
		c.Set(userKey, u)
		c.Set(credentialKey, cred)
		c.Next()
	}
}

func authenticate(c *gin.Context, s *server) (*auth.User, auth.Credential, error) {
	if h := c.GetHeader("Authorization"); h != "" {
		// The scheme is case-insensitive (RFC 7235 §2.1), and one or more spaces follow it.
		scheme, token, _ := strings.Cut(h, " ")
		token = strings.TrimLeft(token, " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			return nil, auth.Credential{}, &groups.Error{Kind: groups.ErrUnauthenticated, Message: `Authorization header must be "Bearer <token>"`}
		}
		return s.Accounts.AuthenticateToken(c.Request.Context(), token)
	}
	if cookie, err := c.Cookie(sessionCookie); err == nil && cookie != "" {
		return s.Accounts.AuthenticateSession(c.Request.Context(), cookie)
	}
	return nil, auth.Credential{}, &groups.Error{Kind: groups.ErrUnauthenticated, Message: "sign in or send an API token (Authorization: Bearer …)"}
}

// currentUser is the user requireUser authenticated.
func currentUser(c *gin.Context) *auth.User {
	return c.MustGet(userKey).(*auth.User)
}

// currentCredential is the session or API token requireUser authenticated with.
func currentCredential(c *gin.Context) auth.Credential {
	return c.MustGet(credentialKey).(auth.Credential)
}

func actorOf(u *auth.User) groups.Actor {
	return groups.Actor{UserID: u.ID, IsAdmin: u.IsAdmin}
}

// requireAdmin lets only administrators through.
func requireAdmin(s *server) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !currentUser(c).IsAdmin {
			writeError(c, s.Logger, groups.Forbidden("only administrators can do this"))
			return
		}
		c.Next()
	}
}

// httpMetrics counts requests and their latency by route template (bounded labels).
func httpMetrics(reg prometheus.Registerer) gin.HandlerFunc {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pingdeck_http_requests_total", Help: "HTTP requests by method, route and status code.",
	}, []string{"method", "route", "code"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "pingdeck_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"method", "route"})
	reg.MustRegister(requests, latency)
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
		latency.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
	}
}

// secureRequest reports whether the browser reached us over HTTPS, directly or through
// a trusted proxy that says so.
func secureRequest(r *http.Request, trusted []*net.IPNet) bool {
	if r.TLS != nil {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	if err != nil || ip == nil {
		return false
	}
	for _, n := range trusted {
		if n.Contains(ip) {
			return strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
		}
	}
	return false
}

// parseTrusted turns trusted-proxy entries (IPs or CIDRs) into networks.
func parseTrusted(entries []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, e := range entries {
		if !strings.Contains(e, "/") {
			if strings.Contains(e, ":") {
				e += "/128"
			} else {
				e += "/32"
			}
		}
		_, n, err := net.ParseCIDR(e)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
