package api

import (
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
	"pingdeck/internal/store"
)

// TargetMetrics is the per-target metrics exporter (targetmetrics.Exporter): For
// collects the series of the groups allowed says yes to, nil meaning all.
type TargetMetrics interface {
	For(allowed func(groupID string) bool) prometheus.Collector
}

// handleTargetMetrics serves the per-target metrics (smokeping_prober's names) of the
// groups whose metrics setting is on. They name the targets' addresses, so unless
// --metrics-targets-public is set the scraper authenticates like any API client
// (Authorization: Bearer <API token>) and sees only the groups its user may see
// (every group for an administrator).
func handleTargetMetrics(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		var allowed func(string) bool
		if !s.TargetMetricsPublic {
			u, cred, err := authenticate(c, s)
			if err != nil {
				return err
			}
			if u.MustChangePassword && cred.Kind == auth.CredentialSession { // as passwordGate
				return auth.PasswordChangeRequired()
			}
			visible, err := s.Store.GroupsFor(c.Request.Context(), actorOf(u), store.ScopeAll)
			if err != nil {
				return err
			}
			ids := make(map[string]bool, len(visible))
			for _, v := range visible {
				ids[v.Group.ID] = true
			}
			allowed = func(id string) bool { return ids[id] }
		}
		if s.TargetMetrics == nil {
			return groups.NotFound("route " + c.Request.Method + " " + c.Request.URL.Path)
		}
		reg := prometheus.NewRegistry()
		if err := reg.Register(s.TargetMetrics.For(allowed)); err != nil {
			return err
		}
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(c.Writer, c.Request)
		return nil
	})
}
