//go:build linux

package main

// The server's metrics the benchmark reads. A binary from before the bus lacks the
// bus ones; its cells say n/a.
const (
	metricPublished     = "pingdeck_bus_results_published_total"
	metricBusBytes      = "pingdeck_bus_result_bytes_total"
	metricPublishErrors = "pingdeck_bus_publish_errors_total"
	metricStreamMsgs    = "pingdeck_bus_stream_messages"
	metricWritten       = "pingdeck_results_written_total"
	metricUndelivered   = "pingdeck_bus_writer_undelivered"
	metricDropped       = "pingdeck_results_dropped_total"
	metricProbesSent    = "pingdeck_probes_sent_total"
)
