package api

import "github.com/gin-gonic/gin"

// RouteTable exposes the route table to the external tests (openapi_test.go).
func RouteTable(d Deps) (*gin.Engine, error) {
	s := &server{Deps: d}
	return s.routes()
}
