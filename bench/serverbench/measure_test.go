//go:build linux

package main

import (
	"testing"

	"pingdeck/bench/internal/promtext"
)

func TestCaughtUp(t *testing.T) {
	for _, tc := range []struct {
		name, scrape string
		want         bool
	}{
		{"drained", "pingdeck_bus_stream_messages 0\npingdeck_bus_results_published_total 100\npingdeck_results_written_total 100\n", true},
		{"redelivered", "pingdeck_bus_stream_messages 0\npingdeck_bus_results_published_total 100\npingdeck_results_written_total 105\n", true},
		{"waiting", "pingdeck_bus_stream_messages 3\npingdeck_bus_results_published_total 100\npingdeck_results_written_total 100\n", false},
		{"behind", "pingdeck_bus_stream_messages 0\npingdeck_bus_results_published_total 100\npingdeck_results_written_total 90\n", false},
		{"held until their blocks close", "pingdeck_bus_stream_messages 300\npingdeck_bus_writer_undelivered 0\npingdeck_bus_results_published_total 100\npingdeck_results_written_total 100\n", true},
		{"undelivered", "pingdeck_bus_stream_messages 300\npingdeck_bus_writer_undelivered 2\npingdeck_bus_results_published_total 100\npingdeck_results_written_total 100\n", false},
		{"no bus metrics", "pingdeck_results_written_total 90\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := caughtUp(promtext.Parse(tc.scrape)); got != tc.want {
				t.Errorf("caughtUp = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSameCounters(t *testing.T) {
	a := promtext.Parse("pingdeck_results_written_total 90\npingdeck_live_clients 1\n")
	b := promtext.Parse("pingdeck_results_written_total 90\npingdeck_live_clients 2\n")
	c := promtext.Parse("pingdeck_results_written_total 91\n")
	if !sameCounters(a, b) {
		t.Error("a gauge that is not a result counter moved the counters")
	}
	if sameCounters(a, c) {
		t.Error("written moved, counters reported still")
	}
}
