package api

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
	"pingdeck/internal/ratelimit"
)

// server is the HTTP layer's state: its dependencies and what NewHandler derived from them.
type server struct {
	Deps
	trusted []*net.IPNet
	// notifySends limits how many notifications each user sends.
	notifySends *ratelimit.Limiter
}

// NewHandler returns pingdeck's HTTP handler.
func NewHandler(d Deps) (http.Handler, error) {
	trusted, err := parseTrusted(d.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("api: trusted proxies: %w", err)
	}
	s := &server{Deps: d, trusted: trusted, notifySends: newSendLimiter()}
	r, err := s.routes()
	if err != nil {
		return nil, err
	}
	h, err := crossOriginProtection(s, r)
	if err != nil {
		return nil, err
	}
	return securityHeaders(h), nil
}

// routes lists every route.
func (s *server) routes() (*gin.Engine, error) {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(s.TrustedProxies); err != nil {
		return nil, fmt.Errorf("api: trusted proxies: %w", err)
	}
	r.Use(httpMetrics(s.Registry), gin.CustomRecovery(func(c *gin.Context, rec any) {
		writeError(c, s.Logger, fmt.Errorf("panic: %v", rec))
	}), limitBody)

	r.GET("/healthz", handleHealthz)
	r.GET("/readyz", handleReadyz(s))
	r.GET("/metrics", handleMetrics(s))
	r.GET("/metrics/targets", handleTargetMetrics(s))

	v1 := r.Group("/api/v1")
	v1.GET("/openapi.yaml", handleOpenAPI)
	v1.POST("/auth/login", handleLogin(s))
	v1.POST("/auth/logout", handleLogout(s)) // works with a stale cookie too, so it can always clear it

	authed := v1.Group("", requireUser(s), passwordGate(s))
	authed.GET("/me", handleMe(s))
	authed.POST("/me/password", handleMyPassword(s))
	authed.GET("/users", handleUserList(s))
	authed.POST("/users", requireAdmin(s), handleUserCreate(s))
	authed.PATCH("/users/:username", requireAdmin(s), handleUserPatch(s))
	authed.DELETE("/users/:username", requireAdmin(s), handleUserDelete(s))
	authed.PUT("/users/:username/password", requireAdmin(s), handleUserPasswordSet(s))
	authed.POST("/users/:username/unlock", requireAdmin(s), handleUserUnlock(s))
	authed.GET("/tokens", handleTokenList(s))
	authed.POST("/tokens", handleTokenCreate(s))
	authed.DELETE("/tokens/:token_id", handleTokenDelete(s))
	authed.GET("/ws", handleWebSocket(s))
	authed.GET("/locations", handleLocations(s))
	authed.GET("/agents", requireAdmin(s), handleAgentList(s))
	authed.POST("/agents", requireAdmin(s), handleAgentCreate(s))
	authed.DELETE("/agents/:agent_id", requireAdmin(s), handleAgentDelete(s))

	grp := authed.Group("/groups")
	grp.GET("", handleGroupList(s))
	grp.POST("", handleGroupCreate(s))
	grp.GET("/:id", handleGroupGet(s))
	grp.PUT("/:id", handleGroupPut(s))
	grp.PATCH("/:id", handleGroupPatch(s))
	grp.DELETE("/:id", handleGroupDelete(s))
	grp.POST("/:id/targets", handleTargetsAdd(s))
	grp.PATCH("/:id/targets/:target_id", handleTargetPatch(s))
	grp.DELETE("/:id/targets/:target_id", handleTargetDelete(s))
	grp.POST("/:id/prune", handlePrune(s))
	grp.GET("/:id/report", handleReport(s))
	grp.GET("/:id/targets/:target_id/samples", handleSamples(s))
	grp.GET("/:id/targets/:target_id/events", handleTargetEvents(s))
	grp.GET("/:id/events", handleGroupEvents(s))
	grp.GET("/:id/rules", handleRuleList(s))
	grp.POST("/:id/rules", handleRuleCreate(s))
	grp.DELETE("/:id/rules/:rule_id", handleRuleDelete(s))
	grp.GET("/:id/alerts", handleGroupAlerts(s))
	grp.GET("/:id/thresholds", handleThresholdsGet(s))
	grp.PUT("/:id/thresholds", handleGroupThresholdsPut(s))
	grp.PUT("/:id/targets/:target_id/thresholds", handleTargetThresholdsPut(s))
	grp.DELETE("/:id/targets/:target_id/thresholds", handleTargetThresholdsDelete(s))
	grp.GET("/:id/silences", handleSilenceList(s))
	grp.POST("/:id/silences", handleSilenceCreate(s))
	grp.DELETE("/:id/silences/:silence_id", handleSilenceDelete(s))
	grp.GET("/:id/uptime", handleUptime(s))
	grp.GET("/:id/statebar", handleStateBar(s))
	grp.GET("/:id/targets/:target_id/history", handleHistory(s))

	authed.GET("/groups/:id/shares", handleShareList(s))
	authed.PUT("/groups/:id/shares/:username", handleSharePut(s))
	authed.DELETE("/groups/:id/shares/:username", handleShareDelete(s))
	authed.PUT("/me/pins/:group_id", handlePinPut(s))
	authed.DELETE("/me/pins/:group_id", handlePinDelete(s))
	authed.GET("/alerts", handleAlertList(s))
	authed.GET("/notifications", handleNotificationList(s))
	authed.POST("/notifications", handleNotificationCreate(s))
	authed.POST("/notifications/:id/read", handleNotificationRead(s))
	authed.GET("/channels", handleChannelList(s))
	authed.POST("/channels", handleChannelCreate(s))
	authed.GET("/channels/:channel_id", handleChannelGet(s))
	authed.PATCH("/channels/:channel_id", handleChannelUpdate(s))
	authed.DELETE("/channels/:channel_id", handleChannelDelete(s))
	authed.POST("/channels/:channel_id/test", handleChannelTest(s))
	authed.GET("/channels/:channel_id/deliveries", handleChannelDeliveries(s))

	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
			Code: "method_not_allowed", Message: "method " + c.Request.Method + " is not allowed on " + c.Request.URL.Path}})
	})
	r.NoRoute(s.noRoute())
	return r, nil
}

// noRoute answers unknown API paths with a JSON 404 and everything else from the UI.
func (s *server) noRoute() gin.HandlerFunc {
	var ui http.Handler
	if s.UI != nil {
		ui = http.FileServerFS(s.UI)
	}
	return func(c *gin.Context) {
		p := c.Request.URL.Path
		if ui == nil || strings.HasPrefix(p, "/api/") || (c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead) {
			writeError(c, s.Logger, groups.NotFound("route "+c.Request.Method+" "+p))
			return
		}
		ui.ServeHTTP(c.Writer, c.Request)
	}
}

// crossOriginProtection refuses state-changing browser requests from other origins
// (CSRF), allowing the origins the operator listed.
func crossOriginProtection(s *server, h http.Handler) (http.Handler, error) {
	cop := http.NewCrossOriginProtection()
	for _, o := range s.AllowedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("api: allowed origin %q: %w", o, err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":{"code":"forbidden","message":"cross-origin request refused; add the origin to --allowed-origins if it is yours"}}`))
	}))
	return cop.Handler(h), nil
}
