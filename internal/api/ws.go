package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
	"pingdeck/internal/live"
)

// handleWebSocket hands an authenticated WebSocket handshake from an allowed origin to
// the live stream. Unauthenticated requests never get here (401 from requireUser); a
// user with --max-streams-per-user sockets open gets 429 before the upgrade.
func handleWebSocket(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		r := c.Request
		if !s.originAllowed(r) {
			return groups.Forbidden("WebSocket from origin %q refused; add it to --allowed-origins if it is yours", r.Header.Get("Origin"))
		}
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			return groups.Invalid("", "this endpoint takes a WebSocket handshake (Upgrade: websocket)")
		}
		if s.Live == nil {
			return groups.NotFound("live stream")
		}
		u, cred := currentUser(c), currentCredential(c)
		return s.Live.ServeWS(c.Writer, r, live.Viewer{UserID: u.ID, Username: u.Username, DisplayName: u.DisplayName,
			IsAdmin: u.IsAdmin, Credential: cred})
	})
}

// originAllowed accepts requests without an Origin (not from a browser), from the
// server's own host, and from the operator's --allowed-origins.
func (s *server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range s.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}
