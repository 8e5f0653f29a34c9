//go:build linux

// Command livebench measures the live stream: for each client count N it starts a
// pingdeck server (API + live hub on SQLite, no probing) in one process and N
// WebSocket clients in another, on loopback. Every client follows 10 public groups of
// 50 targets, picked from a pool so that clients' messages differ; the server process
// makes synthetic results for every pool target at 1 Hz, as the scheduler would, and
// they reach the hub by the server's own path (-path bus: an embedded NATS bus, the
// result publisher, the JetStream result stream and the hub's feed) or straight into
// the hub (-path direct); -path bus,direct measures both for each N, side by side. It
// prints a markdown table: server CPU (% of one core), server RSS per client, latency
// from handing a result over to its arrival at a client, and HTTP API latency
// (GET /api/v1/me) idle and while the clients are connected.
//
//	go build -o bin/livebench ./bench/livebench && ./bin/livebench -n 1000,5000
//
// Every run is bounded: about 50 s per N and path with the default durations.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "livebench:", err)
		os.Exit(1)
	}
}

// config is one benchmark run's settings.
type config struct {
	Clients         []int
	Paths           []string // how results reach the hub: pathBus, pathDirect
	GroupsPerClient int
	TargetsPerGroup int
	Pool            int // groups in the pool clients pick from
	Warmup          time.Duration
	Measure         time.Duration
	Idle            time.Duration
	ClientsSched    string // how the clients process is scheduled: idle, nice or normal
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		switch args[1] {
		case serverRole:
			return runServer(ctx, args[2:], os.Stdin, stdout, stderr)
		case clientsRole:
			return runClients(ctx, args[2:], os.Stdin, stdout, stderr)
		case hogRole:
			return runHog(ctx, os.Stdin, stdout)
		case senderRole:
			return runSender(ctx, args[2:], os.Stdin, stdout)
		}
	}
	fs := flag.NewFlagSet("livebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	counts := fs.String("n", "1000,5000", "comma-separated client counts")
	paths := fs.String("path", pathBus, "how results reach the hub, comma-separated: bus (embedded NATS, publisher, stream and feed, as the server does) or direct (hub.Publish, the hub alone)")
	cfg := config{}
	fs.IntVar(&cfg.GroupsPerClient, "groups", 10, "groups each client follows")
	fs.IntVar(&cfg.TargetsPerGroup, "targets", 50, "targets per group")
	fs.IntVar(&cfg.Pool, "pool", 40, "groups in the pool clients pick from")
	fs.DurationVar(&cfg.Warmup, "warmup", 5*time.Second, "results streamed before measuring")
	fs.DurationVar(&cfg.Measure, "duration", 20*time.Second, "measurement window")
	fs.StringVar(&cfg.ClientsSched, "clients-sched", "idle", "scheduling of the clients process, which stands in for browsers on other machines: idle (SCHED_IDLE: the CPU the server leaves), nice (nice 19) or normal (shares the CPU equally)")
	fs.DurationVar(&cfg.Idle, "idle", 20*time.Second, "HTTP latency measured with no clients")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	for _, s := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-n: %q is not a client count", s)
		}
		cfg.Clients = append(cfg.Clients, n)
	}
	var err error
	if cfg.Paths, err = parsePaths(*paths); err != nil {
		return err
	}
	if _, ok := schedWrappers[cfg.ClientsSched]; !ok {
		return fmt.Errorf("-clients-sched: %q is not idle, nice or normal", cfg.ClientsSched)
	}
	if cfg.GroupsPerClient > cfg.Pool {
		return errors.New("-groups must not exceed -pool")
	}
	raiseFileLimit()
	loadBefore := loadAverage()
	var rows []row
	for _, n := range cfg.Clients {
		for _, path := range cfg.Paths {
			fmt.Fprintf(stderr, "livebench: %d clients, results by %s…\n", n, path)
			r, err := runOne(ctx, args[0], cfg, n, path, stderr)
			if err != nil {
				return fmt.Errorf("%d clients, %s: %w", n, path, err)
			}
			rows = append(rows, r)
		}
	}
	writeTable(stdout, cfg, rows)
	fmt.Fprintf(stdout, "\n%d CPUs; load average (1 min) %s before, %s after; server and clients share the machine (clients scheduled %s).\n",
		runtime.NumCPU(), loadBefore, loadAverage(), cfg.ClientsSched)
	return nil
}

// loadAverage is the 1-minute load average, which says how much the machine was shared.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// row is one line of the table.
type row struct {
	N                int
	Path             string // how results reached the hub
	Server           serverReport
	Client           clientReport
	APIIdle, APIBusy latency // GET /api/v1/me from this process
	APIHogs          latency // … with no stream but the CPUs kept busy at the clients' scheduling
	APITraffic       latency // … with no stream but the stream's traffic sent by another process
	Traffic          trafficReport
}

// child is a running role process talking line by line over stdin/stdout.
type child struct {
	role string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
}

// schedWrappers are the commands that start a child under each -clients-sched
// policy; set before exec, so every thread of the child has it.
var schedWrappers = map[string][]string{
	"idle":   {"chrt", "--idle", "0"},
	"nice":   {"nice", "-n", "19"},
	"normal": nil,
}

// startChild starts this binary in a role under a -clients-sched policy.
func startChild(ctx context.Context, self, sched string, stderr io.Writer, args ...string) (*child, error) {
	argv := append(append(slices.Clone(schedWrappers[sched]), self), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return &child{role: args[0], cmd: cmd, in: in, out: sc}, nil
}

// expect reads lines until one starts with prefix and returns the rest.
func (c *child) expect(prefix string) (string, error) {
	for c.out.Scan() {
		if rest, ok := strings.CutPrefix(c.out.Text(), prefix); ok {
			return strings.TrimSpace(rest), nil
		}
	}
	return "", fmt.Errorf("%s exited before saying %q", c.role, prefix)
}

func (c *child) say(line string) error {
	_, err := io.WriteString(c.in, line+"\n")
	return err
}

// report tells the clients process to stop and reads what it measured into v.
func (c *child) report(v any) error {
	if err := c.say("stop"); err != nil {
		return err
	}
	line, err := c.expect("report ")
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(line), v)
}

func (c *child) stop() {
	c.in.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// runOne runs the server, its results reaching the hub by path, and the clients for n
// clients: idle measurement, connect, warm-up, measurement.
func runOne(ctx context.Context, self string, cfg config, n int, path string, stderr io.Writer) (row, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	srv, err := startChild(ctx, self, "normal", stderr, serverRole,
		"-pool", strconv.Itoa(cfg.Pool), "-targets", strconv.Itoa(cfg.TargetsPerGroup),
		"-warmup", cfg.Warmup.String(), "-duration", cfg.Measure.String(), "-n", strconv.Itoa(n), "-path", path)
	if err != nil {
		return row{}, err
	}
	defer srv.stop()
	ready, err := srv.expect("ready ")
	if err != nil {
		return row{}, err
	}
	addr, rest, _ := strings.Cut(ready, " ")
	token, groupIDs, _ := strings.Cut(rest, " ")
	base := "http://" + addr
	var r row
	r.N, r.Path = n, path
	r.APIIdle = probeHTTP(ctx, base, token, cfg.Idle) // no clients, no results
	if r.APIHogs, err = probeWithHogs(ctx, self, cfg, stderr, base, token); err != nil {
		return row{}, err
	}
	cl, err := startClients(ctx, self, cfg, stderr, addr, token, groupIDs, cfg.GroupsPerClient, n)
	if err != nil {
		return row{}, err
	}
	defer cl.stop()
	if err := srv.say("start"); err != nil {
		return row{}, err
	}
	if _, err := srv.expect("measuring"); err != nil {
		return row{}, err
	}
	if err := cl.say("measure"); err != nil {
		return row{}, err
	}
	r.APIBusy = probeHTTP(ctx, base, token, cfg.Measure)
	line, err := srv.expect("report ")
	if err != nil {
		return row{}, err
	}
	if err := json.Unmarshal([]byte(line), &r.Server); err != nil {
		return row{}, err
	}
	if err := cl.report(&r.Client); err != nil {
		return row{}, err
	}
	cl.stop()
	if r.APITraffic, r.Traffic, err = probeWithTraffic(ctx, self, cfg, stderr, base, token, n, r.Server); err != nil {
		return row{}, err
	}
	return r, nil
}

// probeWithTraffic times the API with no stream while a bare WebSocket sender that is
// not pingdeck sends n clients (a new clients process, scheduled as in the stream) the
// stream's traffic: as many results messages a second, of the same size. It tells how
// much of the connected latency that much traffic to those receivers costs on this
// machine, whoever sends it.
func probeWithTraffic(ctx context.Context, self string, cfg config, stderr io.Writer, base, token string, n int, s serverReport) (latency, trafficReport, error) {
	var tr trafficReport
	if s.MessagesPerSec <= 0 {
		return latency{}, tr, errors.New("traffic control: the stream sent no messages")
	}
	every := time.Duration(float64(n) / s.MessagesPerSec * float64(time.Second))
	items := controlItems(int(s.MBPerSec * 1e6 / s.MessagesPerSec))
	sender, err := startChild(ctx, self, "normal", stderr, senderRole, "-items", strconv.Itoa(items), "-every", every.String())
	if err != nil {
		return latency{}, tr, err
	}
	defer sender.stop()
	addr, err := sender.expect("ready ")
	if err != nil {
		return latency{}, tr, err
	}
	cl, err := startClients(ctx, self, cfg, stderr, addr, "-", "-", 1, n) // the sender ignores token and groups
	if err != nil {
		return latency{}, tr, err
	}
	defer cl.stop()
	if err := sender.say("start"); err != nil {
		return latency{}, tr, err
	}
	select {
	case <-time.After(cfg.Warmup):
	case <-ctx.Done():
		return latency{}, tr, ctx.Err()
	}
	if err := cl.say("measure"); err != nil {
		return latency{}, tr, err
	}
	sender0, t0 := childCPU(sender), time.Now()
	api := probeHTTP(ctx, base, token, cfg.Idle)
	tr.SenderPercent = 100 * (childCPU(sender) - sender0).Seconds() / time.Since(t0).Seconds()
	if err := cl.report(&tr.Clients); err != nil {
		return latency{}, tr, err
	}
	return api, tr, nil
}

// startClients starts the clients process (under the clients' scheduling) with n
// sockets to addr, each following perClient of groupIDs, and waits until all are
// connected.
func startClients(ctx context.Context, self string, cfg config, stderr io.Writer, addr, token, groupIDs string, perClient, n int) (*child, error) {
	cl, err := startChild(ctx, self, cfg.ClientsSched, stderr, clientsRole, "-addr", addr, "-token", token, "-groups", groupIDs,
		"-per-client", strconv.Itoa(perClient), "-n", strconv.Itoa(n))
	if err != nil {
		return nil, err
	}
	if _, err := cl.expect("connected"); err != nil {
		cl.stop()
		return nil, err
	}
	return cl, nil
}

// trafficReport is what the traffic control's processes did: the sender's CPU (% of
// one core) and what its clients measured.
type trafficReport struct {
	SenderPercent float64
	Clients       clientReport
}

// childCPU is a child's user + system CPU time so far, from /proc/<pid>/stat.
func childCPU(c *child) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime + stime (fields 14 and 15, in USER_HZ ticks) from the text
// of /proc/<pid>/stat; 0 when they are not there.
func parseStatCPU(stat string) time.Duration {
	i := strings.LastIndex(stat, ") ") // the command name may hold spaces and parentheses
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+2:])
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * time.Second / userHZ
}

// probeWithHogs times the API with no stream while a process under the clients'
// scheduling keeps every CPU busy: the control that tells how much of the connected
// latency comes from the CPUs being busy at all, not from the server's stream.
func probeWithHogs(ctx context.Context, self string, cfg config, stderr io.Writer, base, token string) (latency, error) {
	hog, err := startChild(ctx, self, cfg.ClientsSched, stderr, hogRole)
	if err != nil {
		return latency{}, err
	}
	defer hog.stop()
	if _, err := hog.expect("spinning"); err != nil {
		return latency{}, err
	}
	return probeHTTP(ctx, base, token, cfg.Idle), nil
}

func writeTable(w io.Writer, cfg config, rows []row) {
	fmt.Fprintf(w, "Each client follows %d groups × %d targets at 1 Hz (pool of %d groups); %s warm-up, %s measured.\n\n",
		cfg.GroupsPerClient, cfg.TargetsPerGroup, cfg.Pool, cfg.Warmup, cfg.Measure)
	fmt.Fprintln(w, "Results by: **bus** — the server's path: submitted to the result publisher, published per group every 25 ms to the JetStream result stream of an embedded NATS (file store; nothing drains it, as no database writer runs), and delivered by the hub's feed; **direct** — handed to hub.Publish, the hub alone. Publish → receive starts when the result is handed over (its SentAt).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| clients | results by | results/s handed over → reached the hub | bus unconfirmed batches / dropped results | server CPU % of one core | client process CPU % | server RSS MB idle → connected | RSS per client KB | publish → receive p50 / p99 ms | flush → written p50 / p99 ≤ ms | messages/s | MB/s sent | GET /api/v1/me p50 / p99 ms idle | … CPUs busy, no stream | … connected | … same traffic from a bare sender | its sender / clients CPU % | its publish → receive p99 ms | … in the handler p99 ≤ ms | host steal % idle / busy / connected / traffic | 4429 closes / other closes / dropped | GC pauses / max ≤ ms | heap / stacks MB connected |")
	fmt.Fprintln(w, "|---:|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		s, c := r.Server, r.Client
		busLoss := "–" // no bus on the direct path
		if r.Path == pathBus {
			busLoss = fmt.Sprintf("%d / %d", s.BusPublishErrors, s.BusDropped)
		}
		fmt.Fprintf(w, "| %d | %s | %.0f → %.0f | %s | %.1f | %.1f | %.1f → %.1f | %.1f | %d / %d | %g / %g | %.0f | %.1f | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.1f / %.1f | %d | %g | %.1f / %.1f / %.1f / %.1f | %d / %d / %d | %d / %.2g | %.1f / %.1f |\n",
			r.N, r.Path, s.SubmittedPerSec, s.DeliveredPerSec, busLoss, s.CPUPercent, c.CPUPercent, s.RSSIdleMB, s.RSSConnectedMB, (s.RSSConnectedMB-s.RSSIdleMB)*1024/float64(r.N),
			c.P50ms, c.P99ms, s.FlushP50ms, s.FlushP99ms, s.MessagesPerSec, s.MBPerSec, r.APIIdle.P50, r.APIIdle.P99, r.APIHogs.P50, r.APIHogs.P99, r.APIBusy.P50, r.APIBusy.P99,
			r.APITraffic.P50, r.APITraffic.P99, r.Traffic.SenderPercent, r.Traffic.Clients.CPUPercent, r.Traffic.Clients.P99ms, s.HandlerP99ms, r.APIIdle.Steal, r.APIHogs.Steal, r.APIBusy.Steal, r.APITraffic.Steal,
			s.Slow, c.Closed, s.Dropped, s.GCPauses, s.GCPauseMaxms, s.HeapMB, s.StackMB)
	}
}
