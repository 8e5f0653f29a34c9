package api

import (
	"context"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/groups"
)

// locations is where groups can be probed from (Deps.Locations, or the server's own
// prober alone).
func (s *server) locations() Locations {
	if s.Locations == nil {
		return ownLocationOnly(groups.DefaultOwnLocation)
	}
	return s.Locations
}

// applyLocations sets where g is probed from when a request names locations (nil:
// it does not): 1 to 16 distinct names, each a location pingdeck knows.
func (s *server) applyLocations(ctx context.Context, g *groups.Group, names *[]string) error {
	if names == nil {
		return nil
	}
	if err := groups.CheckLocations(*names); err != nil {
		return err
	}
	known, err := s.locations().Known(ctx)
	if err != nil {
		return err
	}
	for _, name := range *names {
		if !slices.Contains(known, name) {
			return groups.Invalid("locations", "%q is not a known location (known: %s)", name, strings.Join(known, ", "))
		}
	}
	g.Locations = slices.Clone(*names)
	return nil
}

// queryLocation reads the optional location query parameter: "" when absent or empty
// (every location), else a valid location name.
func queryLocation(c *gin.Context) (string, error) {
	loc := strings.TrimSpace(c.Query("location"))
	if loc == "" {
		return "", nil
	}
	if err := groups.CheckLocation("location", loc); err != nil {
		return "", err
	}
	return loc, nil
}
