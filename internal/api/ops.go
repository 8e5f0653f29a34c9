package api

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// OpenAPISpec is the hand-written description of this API, served at /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPISpec []byte

func handleHealthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// handleReadyz answers 200 only when the server can do its work (database reachable).
func handleReadyz(s *server) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if s.Ready != nil {
			if err := s.Ready(ctx); err != nil {
				s.Logger.Warn("not ready", "err", err)
				c.JSON(http.StatusServiceUnavailable, errorBody{Error: errorDetail{Code: "unavailable", Message: "not ready: " + err.Error()}})
				return
			}
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	}
}

func handleMetrics(s *server) gin.HandlerFunc {
	return gin.WrapH(promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{Registry: s.Registry}))
}

func handleOpenAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/yaml", OpenAPISpec)
}
