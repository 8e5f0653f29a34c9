//go:build linux

package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"pingdeck/internal/ping"
)

// row is one cell of the matrix as the table shows it.
type row struct {
	Engine   string
	Asked    ping.Mode // the ICMP mode asked for ("": the engine's own choice)
	N        int
	Expected int64 // probes the window should hold on schedule
	engineOutcome
	Ref reference
}

// header is what the report says above the table.
type header struct {
	Command  string
	Date     time.Time
	Machine  string
	Settings string
}

// tableColumns are the table's headings. The first nine are the benchmark's
// contract; the rest explain them.
func tableColumns() []string {
	return []string{
		"engine", "N", "CPU % of one core", "RSS MB (VmRSS at window end)", "loss %",
		"RTT p50 µs", "RTT p99 µs", "p50 error µs", "p99 error µs",
		"CPU µs/probe", "CPU user / sys %", "peak RSS MB (VmHWM)", "sent % of schedule", "kernel ref p50/p99 µs",
		"host CPU % (all cores)", "notes",
	}
}

// cells formats r for the table, one string per column.
func (r row) cells() []string {
	out := []string{r.engineCell(), fmt.Sprint(r.N)}
	if r.Status != "" {
		out = append(out, r.Status+r.usageNote())
		for len(out) < len(tableColumns())-1 {
			out = append(out, "—")
		}
		return append(out, r.notes())
	}
	s, u := r.Stats, r.Usage
	out = append(out,
		fmt.Sprintf("%.1f", 100*u.CPU),
		fmt.Sprintf("%.1f", mb(u.RSS)),
		fmt.Sprintf("%.3f", s.lossPct()),
		us(s.RTT.P50), us(s.RTT.P99),
		r.rttError(func(p percentiles) time.Duration { return p.P50 }),
		r.rttError(func(p percentiles) time.Duration { return p.P99 }),
		r.cpuPerProbe(),
		fmt.Sprintf("%.1f / %.1f", 100*(u.CPU-u.SysCPU), 100*u.SysCPU),
		fmt.Sprintf("%.1f", mb(u.PeakRSS)),
		r.sentPct(),
		r.refCell(),
		fmt.Sprintf("%.0f", 100*u.HostCPU),
		r.notes(),
	)
	return out
}

// engineCell is the engine with the ICMP mode it ran in, and whether auto chose it.
func (r row) engineCell() string {
	switch {
	case r.Mode == "" && r.Asked == "":
		return r.Engine
	case r.Mode == "":
		return fmt.Sprintf("%s (%s)", r.Engine, r.Asked)
	case r.Asked == ping.ModeAuto:
		return fmt.Sprintf("%s (auto: %s)", r.Engine, r.Mode)
	}
	return fmt.Sprintf("%s (%s)", r.Engine, r.Mode)
}

// usageNote gives the CPU and memory a failed cell measured, if it got that far.
func (r row) usageNote() string {
	if r.Usage.PeakRSS == 0 {
		return ""
	}
	return fmt.Sprintf(" (during the window: CPU %.0f %% of one core, RSS %.0f MB)", 100*r.Usage.CPU, mb(r.Usage.RSS))
}

func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }

func us(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Microsecond)) }

// rttError is the engine's percentile minus the kernel reference's, both over the
// targets the sniffer sampled, or a dash (or a flag) when the reference cannot be
// trusted.
func (r row) rttError(pick func(percentiles) time.Duration) string {
	if r.Ref.Err != "" || r.Ref.RTT.N == 0 || r.Stats.SampledRTT.N == 0 {
		return "—"
	}
	d := float64(pick(r.Stats.SampledRTT)-pick(r.Ref.RTT)) / float64(time.Microsecond)
	s := fmt.Sprintf("%+.0f", d)
	if !r.Ref.trusted() {
		s += " (untrusted)"
	}
	return s
}

func (r row) cpuPerProbe() string {
	if r.Stats.Probes == 0 {
		return "—"
	}
	window := r.Win.End.Sub(r.Win.Start).Seconds()
	return fmt.Sprintf("%.1f", r.Usage.CPU*window*1e6/float64(r.Stats.Probes))
}

func (r row) sentPct() string {
	if r.Expected == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f", 100*float64(r.Stats.Probes)/float64(r.Expected))
}

func (r row) refCell() string {
	if r.Ref.Err != "" || r.Ref.RTT.N == 0 {
		return "—"
	}
	return us(r.Ref.RTT.P50) + " / " + us(r.Ref.RTT.P99)
}

// notes says what else a reader should know about the cell: the ICMP mode, whether
// the reference saw everything, failures and warnings.
func (r row) notes() string {
	var n []string
	switch {
	case r.Status != "":
	case r.Ref.Err != "":
		n = append(n, "no reference: "+r.Ref.Err)
	case r.Ref.Dropped > 0:
		n = append(n, fmt.Sprintf("sniffer DROPPED %d of %d packets: errors untrusted", r.Ref.Dropped, r.Ref.Seen))
	case r.Ref.Requests == 0:
		n = append(n, "sniffer saw no requests")
	default:
		n = append(n, fmt.Sprintf("sniffer saw all %d requests%s", r.Ref.Requests, r.Ref.sampleNote()))
	}
	if r.Stats.Failed > 0 {
		n = append(n, fmt.Sprintf("%d send errors (%s)", r.Stats.Failed, r.Stats.FirstErr))
	}
	if r.Warnings != "" {
		n = append(n, r.Warnings)
	}
	return strings.Join(n, "; ")
}

// writeReport prints the markdown report: how it was made, the table, and how to
// read it.
func writeReport(w io.Writer, h header, rows []row) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# pingbench: probe engines on loopback\n\n")
	fmt.Fprintf(&b, "- command: `%s`\n", h.Command)
	fmt.Fprintf(&b, "- date: %s\n", h.Date.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "- machine: %s\n", h.Machine)
	fmt.Fprintf(&b, "- cells: %s\n\n", h.Settings)
	writeTable(&b, rows)
	b.WriteString(`
How to read it:
- Each cell runs in its own process (pingbench re-executed with -child, or fping itself), so CPU and memory are that engine's alone. The engine column says the ICMP mode the cell ran in ("auto: …" when auto chose it); fping, as root, opens raw sockets.
- CPU % of one core = the process's utime+stime over the measured window (/proc/<pid>/stat, 10 ms ticks) ÷ wall time. On loopback the kernel's side of each exchange (delivering the request, answering it as the far host would, delivering the reply, running the sniffer's filter on both and, for the sampled targets, copying them into its ring) runs in softirq in the sender's context; kernels without IRQ time accounting charge it to the sender, so engine CPU here includes work a real far end would do; it shows in the sys part of CPU user / sys %. The sniffer samples the same targets for every engine and fping, so that share is the same for all. host CPU % (whole machine, max nproc×100) includes the sniffer and anything else running.
- RSS = VmRSS at the end of the window; peak = VmHWM (peak since exec).
- loss % = probes sent in the window that the engine reported lost or failed ÷ probes sent in the window (engine's own results; warm-up excluded). sent % of schedule = those probes ÷ N × window ÷ interval: an engine that falls behind shows here, not in loss.
- RTT error = engine's RTT percentile over the sampled targets − kernel reference percentile over the same targets and window (a distribution-level comparison, not per probe; RTT p50/p99 are over all targets). The reference is the kernel receive timestamp of each echo reply minus that of its request, both taken as the packets cross lo, by an AF_PACKET TPACKET_V3 sniffer in the parent (matched by address, id and sequence) whose classic BPF filter passes only the sampled target addresses (see the cells line). Errors are flagged "untrusted" if the sniffer's ring dropped packets (PACKET_STATISTICS).
`)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTable(b *strings.Builder, rows []row) {
	line := func(cells []string) {
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	cols := tableColumns()
	line(cols)
	sep := make([]string, len(cols))
	for i := range sep {
		sep[i] = "---"
		if i > 0 && i < len(sep)-1 {
			sep[i] = "---:"
		}
	}
	line(sep)
	for _, r := range rows {
		cells := r.cells()
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", "\\|")
		}
		line(cells)
	}
}
