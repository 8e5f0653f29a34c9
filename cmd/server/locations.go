package main

import (
	"context"

	"pingdeck/internal/api"
)

// ownLocation is where groups can be probed from while this server has no agents: its
// own prober, at --location.
type ownLocation string

var _ api.Locations = ownLocation("")

// Own is the server's own prober's location.
func (o ownLocation) Own() string { return string(o) }

// Known is just Own.
func (o ownLocation) Known(context.Context) ([]string, error) { return []string{string(o)}, nil }
