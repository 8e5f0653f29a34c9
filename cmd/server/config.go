package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
	"pingdeck/internal/store"
)

// config is everything pingdeck is told at start, from flags or PINGDECK_* variables.
type config struct {
	Listen            string
	DataDir           string
	DB                string
	AdminPassword     string
	Migrate           bool
	MinInterval       time.Duration
	MaxTargetsPerUser int
	MaxGroupsPerUser  int
	MaxStreamsPerUser int
	AllowedOrigins    []string
	TrustedProxies    []string
	RetentionRaw      time.Duration
	HoldMB            int // --results-hold-mb
	RetentionRollup   time.Duration
	DeviceKeyFile     string
	AllowTargets      []netip.Prefix
	DenyTargets       []netip.Prefix
	LogLevel          slog.Level
	PingEngine        string
	// Location names where this server's own prober probes from, on the bus.
	Location string
	ICMPMode ping.Mode
	// MaxConnections is the most client connections open at once; 0 derives it from the
	// open-file limit (maxConnectionsFor).
	MaxConnections      int
	MaxConnectionsPerIP int
	RequestReadTimeout  time.Duration
	// NATS is the bus (internal/bus): embedded unless URL is set.
	NATS natsConfig
	// MetricsTargetsPublic serves /metrics/targets without credentials.
	MetricsTargetsPublic bool
	// NodeName names this replica among the others (leases, NATS cluster).
	NodeName string
}

// natsConfig is the bus's part of the configuration.
type natsConfig struct {
	URL, Listen, User, Password, TLSCert, TLSKey string
	// ClusterListen and Routes cluster the embedded server with other replicas'.
	ClusterListen string
	Routes        []string
	// ClusterTLSCert, ClusterTLSKey and ClusterTLSCA make the routes mutual TLS.
	ClusterTLSCert, ClusterTLSKey, ClusterTLSCA string
	// Replicas is JetStream's replication: 0 decides from Routes (replicasFor).
	Replicas int
	// MaxMB and MaxAge bound the result stream: what waits there for the database.
	MaxMB  int64
	MaxAge time.Duration
}

// envName is the environment variable equivalent to a flag: --min-interval → PINGDECK_MIN_INTERVAL.
func envName(flagName string) string {
	return "PINGDECK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// listFlag is a comma-separated list of strings.
type listFlag struct{ items *[]string }

func (l listFlag) String() string {
	if l.items == nil {
		return ""
	}
	return strings.Join(*l.items, ",")
}

func (l listFlag) Set(s string) error {
	*l.items = nil
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l.items = append(*l.items, item)
		}
	}
	return nil
}

// prefixFlag is a comma-separated list of CIDRs or IPs.
type prefixFlag struct{ prefixes *[]netip.Prefix }

func (p prefixFlag) String() string {
	if p.prefixes == nil {
		return ""
	}
	parts := make([]string, len(*p.prefixes))
	for i, pr := range *p.prefixes {
		parts[i] = pr.String()
	}
	return strings.Join(parts, ",")
}

func (p prefixFlag) Set(s string) (err error) {
	*p.prefixes, err = groups.ParsePrefixList(s)
	return err
}

// parseConfig reads flags, then fills every flag not given on the command line from its
// environment variable. Errors name the flag or variable at fault.
func parseConfig(args []string, getenv func(string) string, usageOut io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("pingdeck", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	fs.StringVar(&c.Listen, "listen", ":8080", "address to serve the dashboard, API and WebSocket on")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "directory for the embedded database and other state")
	fs.StringVar(&c.DB, "db", "", "database: sqlite:PATH or postgres://user:pass@host/db (default sqlite:<data-dir>/pingdeck.db)")
	fs.StringVar(&c.AdminPassword, "admin-password", "", "password for the admin user created on first start (default: generated and printed once)")
	fs.BoolVar(&c.Migrate, "migrate", true, "apply database migrations at start; false refuses to start on an old schema")
	fs.DurationVar(&c.MinInterval, "min-interval", 200*time.Millisecond, "smallest probe interval a group may use")
	fs.IntVar(&c.MaxTargetsPerUser, "max-targets-per-user", 10000, "most targets one user's groups may hold in total")
	fs.IntVar(&c.MaxGroupsPerUser, "max-groups-per-user", 1000, "most groups one user may own")
	fs.IntVar(&c.MaxStreamsPerUser, "max-streams-per-user", 20, "most live-stream WebSockets (open dashboards) one user may have at once; one more is refused with 429")
	fs.Var(listFlag{&c.AllowedOrigins}, "allowed-origins", "comma-separated origins (https://host:port) allowed besides the server's own")
	fs.Var(listFlag{&c.TrustedProxies}, "trusted-proxies", "comma-separated proxy IPs/CIDRs whose X-Forwarded-* headers are believed (default none)")
	fs.DurationVar(&c.RetentionRaw, "retention-raw", 2160*time.Hour, "how long every probe result is kept (in 5-minute blocks, about 3 bytes a probe)")
	fs.DurationVar(&c.RetentionRollup, "retention-rollup", 9600*time.Hour, "how long hourly rollups are kept")
	fs.IntVar(&c.HoldMB, "results-hold-mb", 512, "MiB of probe results the writer holds in memory until their 5-minute block closes (about 40 bytes a result); past it it stores every held block at once; 0 stores every batch at once")
	fs.Int64Var(&c.NATS.MaxMB, "bus-max-mb", 1024, "MiB of probe results the bus keeps while the database does not take them; past it the oldest are dropped and counted (pingdeck_results_dropped_total)")
	fs.DurationVar(&c.NATS.MaxAge, "bus-max-age", 72*time.Hour, "longest a probe result waits on the bus for the database before it is dropped and counted")
	fs.StringVar(&c.DeviceKeyFile, "device-key-file", "", "file with the 32-byte key that signs device cookies (made if missing); in a cluster the first replica's key is shared on the bus (default <data-dir>/device-cookie.key)")
	fs.Var(prefixFlag{&c.AllowTargets}, "allow-targets", "comma-separated CIDRs targets must be in (default all)")
	fs.Var(prefixFlag{&c.DenyTargets}, "deny-targets", "comma-separated CIDRs targets must not be in (default none)")
	fs.StringVar(&c.PingEngine, "ping-engine", "auto", "probe engine: auto, probing (pro-bing, portable) or shared (one socket, Linux)")
	fs.StringVar(&c.Location, "location", "local", "name of the place this server probes from, as its results carry it on the bus (1-32 of a-z, 0-9 and -)")
	icmpMode := fs.String("icmp-mode", "auto", "ICMP sockets: auto, unprivileged (needs net.ipv4.ping_group_range) or privileged (raw, needs CAP_NET_RAW)")
	fs.TextVar(&c.LogLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.IntVar(&c.MaxConnections, "max-connections", 0, "most client connections (HTTP and WebSocket) open at once; more are closed at once. 0: half the open-file limit, at most 10000")
	fs.IntVar(&c.MaxConnectionsPerIP, "max-connections-per-ip", 256, "most connections open at once from one client address (IPv6: one /64); more are closed at once. --trusted-proxies are exempt")
	fs.DurationVar(&c.RequestReadTimeout, "request-read-timeout", 30*time.Second, "time a request's body may take to arrive after its headers (WebSocket streams excepted); a slower one gets 408 and its connection closed")
	fs.StringVar(&c.NATS.URL, "nats-url", "", "external NATS to use as the bus (nats://host:4222, comma-separated for a cluster); default: a NATS server embedded in pingdeck, store in <data-dir>/bus")
	fs.StringVar(&c.NATS.Listen, "nats-listen", "", "host:port on which the embedded NATS server takes agents and replicas (default: no port, in-process only); needs --nats-user and --nats-password")
	fs.StringVar(&c.NATS.User, "nats-user", "", "user every NATS client must give when --nats-listen is set; also used to connect to --nats-url")
	fs.StringVar(&c.NATS.Password, "nats-password", "", "password that goes with --nats-user (at least 12 characters when listening)")
	fs.StringVar(&c.NATS.TLSCert, "nats-tls-cert", "", "PEM certificate that makes the --nats-listen listener TLS-only (with --nats-tls-key)")
	fs.StringVar(&c.NATS.TLSKey, "nats-tls-key", "", "PEM private key for --nats-tls-cert")
	fs.StringVar(&c.NATS.ClusterListen, "nats-cluster-listen", "", "host:port on which the embedded NATS server takes the other replicas' servers (routes), to run several replicas on one Postgres without an external NATS; needs --nats-user and --nats-password, which the routes use")
	fs.Var(listFlag{&c.NATS.Routes}, "nats-routes", "comma-separated cluster addresses of the replicas' embedded NATS servers (nats://host:6222), the same list on every replica, its own included")
	fs.StringVar(&c.NATS.ClusterTLSCert, "nats-cluster-tls-cert", "", "PEM certificate this replica shows on its routes, signed by --nats-cluster-tls-ca and valid for server and client authentication; with --nats-cluster-tls-key and --nats-cluster-tls-ca the routes are mutual TLS (default: plain text)")
	fs.StringVar(&c.NATS.ClusterTLSKey, "nats-cluster-tls-key", "", "PEM private key for --nats-cluster-tls-cert")
	fs.StringVar(&c.NATS.ClusterTLSCA, "nats-cluster-tls-ca", "", "PEM certificate of the CA that signed every replica's --nats-cluster-tls-cert: a route from a server whose certificate it did not sign is refused")
	fs.IntVar(&c.NATS.Replicas, "nats-replicas", 0, "copies JetStream keeps of pingdeck's streams and buckets in a cluster: 1 or 3; 0 = 3 when --nats-routes lists three or more servers, else 1 (default 0)")
	fs.StringVar(&c.NodeName, "node-name", "", "name of this replica among the others (1-64 of a-z, A-Z, 0-9, - and _), stable across restarts (default: the host name)")
	fs.BoolVar(&c.MetricsTargetsPublic, "metrics-targets-public", false, "serve /metrics/targets (per-target metrics of the groups that turn them on, with their addresses) without credentials; by default a scraper sends an API token and sees the groups its user may see")
	if err := refuseRemoved(args, getenv); err != nil {
		return nil, err
	}
	if err := parseFlags(fs, "pingdeck [flags]\n       pingdeck agent --help (a prober at another site)", args, getenv, usageOut); err != nil {
		return nil, err
	}
	c.ICMPMode = ping.Mode(*icmpMode)
	if c.DB == "" {
		c.DB = "sqlite:" + filepath.Join(c.DataDir, "pingdeck.db")
	}
	if c.DeviceKeyFile == "" {
		c.DeviceKeyFile = filepath.Join(c.DataDir, "device-cookie.key")
	}
	if c.NodeName == "" {
		c.NodeName = hostNodeName()
	}
	if c.NATS.Replicas == 0 {
		c.NATS.Replicas = replicasFor(c.NATS.Routes)
	}
	return c, c.validate()
}

func (c *config) validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s (%s): %s", name, envName(name), fmt.Sprintf(format, args...)))
	}
	if _, _, err := store.ParseDSN(c.DB); err != nil {
		bad("db", "%v", err)
	}
	if !groups.ValidLocation(c.Location) {
		bad("location", "must be 1-32 characters of a-z, 0-9 and -, got %q", c.Location)
	}
	validateProbing(bad, c.PingEngine, c.ICMPMode)
	if c.DataDir == "" {
		bad("data-dir", "must not be empty")
	}
	if c.MinInterval < 10*time.Millisecond {
		bad("min-interval", "must be at least 10ms, got %s", c.MinInterval)
	}
	if c.MaxTargetsPerUser < 1 {
		bad("max-targets-per-user", "must be at least 1, got %d", c.MaxTargetsPerUser)
	}
	if c.MaxGroupsPerUser < 1 {
		bad("max-groups-per-user", "must be at least 1, got %d", c.MaxGroupsPerUser)
	}
	if c.MaxStreamsPerUser < 1 {
		bad("max-streams-per-user", "must be at least 1, got %d", c.MaxStreamsPerUser)
	}
	if c.HoldMB < 0 {
		bad("results-hold-mb", "must be 0 or more, got %d", c.HoldMB)
	}
	if c.RetentionRaw < time.Hour {
		bad("retention-raw", "must be at least 1h, got %s", c.RetentionRaw)
	}
	if c.RetentionRollup < c.RetentionRaw {
		bad("retention-rollup", "must be at least --retention-raw (%s), got %s", c.RetentionRaw, c.RetentionRollup)
	}
	if c.MaxConnections < 0 {
		bad("max-connections", "must be 0 (derived from the open-file limit) or more, got %d", c.MaxConnections)
	}
	if c.MaxConnectionsPerIP < 1 {
		bad("max-connections-per-ip", "must be at least 1, got %d", c.MaxConnectionsPerIP)
	} else if c.MaxConnections > 0 && c.MaxConnectionsPerIP > c.MaxConnections {
		bad("max-connections-per-ip", "must not be more than --max-connections (%d), got %d", c.MaxConnections, c.MaxConnectionsPerIP)
	}
	if c.RequestReadTimeout < time.Second || c.RequestReadTimeout > time.Hour {
		bad("request-read-timeout", "must be between 1s and 1h, got %s", c.RequestReadTimeout)
	}
	c.NATS.validate(bad)
	c.validateCluster(bad)
	if c.AdminPassword != "" && len(c.AdminPassword) < 8 {
		bad("admin-password", "must be at least 8 characters")
	}
	for _, o := range c.AllowedOrigins {
		if !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			bad("allowed-origins", "%q must look like https://host[:port]", o)
		}
	}
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				bad("trusted-proxies", "%q is not an IP or CIDR", p)
			}
		}
	}
	return errors.Join(errs...)
}

// parseFlags parses args into fs, then fills every flag not given on the command line
// from its environment variable. --help prints usage with every flag's variable.
func parseFlags(fs *flag.FlagSet, usage string, args []string, getenv func(string) string, usageOut io.Writer) error {
	fs.Usage = func() {
		fmt.Fprintf(usageOut, "Usage: %s\n\nEvery flag can also be set by the environment variable shown.\n\n", usage)
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(usageOut, "  --%s (%s)\n      %s%s\n", f.Name, envName(f.Name), f.Usage, defaultText(f))
		})
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && !given[f.Name] && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s: %w", envName(f.Name), err)
			}
		}
	})
	return envErr
}

// validateProbing checks --ping-engine and --icmp-mode, for the server and the agent.
func validateProbing(bad func(name, format string, args ...any), engine string, mode ping.Mode) {
	switch engine {
	case "auto", "probing", "shared":
	default:
		bad("ping-engine", "must be auto, probing or shared, got %q", engine)
	}
	switch mode {
	case ping.ModeAuto, ping.ModeUnprivileged, ping.ModePrivileged:
	default:
		bad("icmp-mode", "must be auto, unprivileged or privileged, got %q", mode)
	}
}

// defaultText is a flag's default as --help prints it, once and in the units a user
// writes: nothing when the usage already says it, "none" for empty, "168h" rather
// than "168h0m0s", "info" rather than "INFO".
func defaultText(f *flag.Flag) string {
	if strings.Contains(f.Usage, "(default") {
		return ""
	}
	def := f.DefValue
	if g, ok := f.Value.(flag.Getter); ok {
		switch v := g.Get().(type) {
		case time.Duration:
			def = shortDuration(v)
		case *slog.Level:
			def = strings.ToLower(v.String())
		}
	}
	if def == "" {
		def = "none"
	}
	return " (default " + def + ")"
}

// shortDuration drops a duration's zero tails: 168h0m0s → 168h, 1m30s stays.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// refuseRemoved names a setting of an earlier release that is gone, when it is still
// given as a flag or in the environment, rather than let the flag parser call it
// unknown or the environment pass it over.
func refuseRemoved(args []string, getenv func(string) string) error {
	removed := map[string]string{ // name → what replaces it
		"spool-max-mb": "results wait on the bus while the database is away: set --bus-max-mb (PINGDECK_BUS_MAX_MB) instead",
	}
	for name, instead := range removed {
		given := getenv(envName(name)) != ""
		for _, a := range args {
			flagName, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			given = given || (strings.HasPrefix(a, "-") && flagName == name)
		}
		if given {
			return fmt.Errorf("--%s (%s) is gone: %s", name, envName(name), instead)
		}
	}
	return nil
}
