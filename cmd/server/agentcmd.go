package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"pingdeck/internal/agent"
	"pingdeck/internal/bus"
	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
)

// agentConfig is `pingdeck agent`'s configuration.
type agentConfig struct {
	Server      string
	Credentials string
	DataDir     string
	BufferMaxMB int64
	PingEngine  string
	ICMPMode    ping.Mode
	LogLevel    slog.Level
}

func parseAgentConfig(args []string, getenv func(string) string, usageOut io.Writer) (*agentConfig, error) {
	c := &agentConfig{}
	fs := flag.NewFlagSet("pingdeck agent", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	fs.StringVar(&c.Server, "server", "", "the pingdeck server's bus: nats://host:4222 (its --nats-listen), tls://host:4222 when it has a certificate")
	fs.StringVar(&c.Credentials, "credentials", "", "the credential file the server gave when the agent was created (Agents page or POST /api/v1/agents)")
	fs.StringVar(&c.DataDir, "data-dir", "./agent-data", "directory for the agent's disk buffer (results wait there while the server cannot be reached)")
	fs.Int64Var(&c.BufferMaxMB, "buffer-max-mb", 256, "MiB of results the agent keeps while cut off; past it the oldest are dropped (the server counts them)")
	fs.StringVar(&c.PingEngine, "ping-engine", "auto", "probe engine: auto, probing (pro-bing, portable) or shared (one socket, Linux)")
	icmpMode := fs.String("icmp-mode", "auto", "ICMP sockets: auto, unprivileged (needs net.ipv4.ping_group_range) or privileged (raw, needs CAP_NET_RAW)")
	fs.TextVar(&c.LogLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	if err := parseFlags(fs, "pingdeck agent --server nats://HOST:4222 --credentials FILE [flags]", args, getenv, usageOut); err != nil {
		return nil, err
	}
	c.ICMPMode = ping.Mode(*icmpMode)
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s (%s): %s", name, envName(name), fmt.Sprintf(format, args...)))
	}
	switch {
	case c.Server == "":
		bad("server", "is required: the server's bus address, nats://host:4222")
	default:
		natsConfig{URL: c.Server, MaxMB: 1, MaxAge: 1 << 62}.validate(func(_, format string, args ...any) { bad("server", format, args...) })
	}
	if c.Credentials == "" {
		bad("credentials", "is required: the file the server gave when the agent was created")
	}
	if c.BufferMaxMB < 1 {
		bad("buffer-max-mb", "must be at least 1, got %d", c.BufferMaxMB)
	}
	if c.DataDir == "" {
		bad("data-dir", "must not be empty")
	}
	validateProbing(bad, c.PingEngine, c.ICMPMode)
	return c, errors.Join(errs...)
}

// runAgent runs `pingdeck agent` until ctx ends.
func runAgent(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseAgentConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	text, err := os.ReadFile(cfg.Credentials)
	if err != nil {
		return fmt.Errorf("--credentials (%s): %w", envName("credentials"), err)
	}
	cred, err := bus.ParseAgentCredential(string(text))
	if err != nil {
		return fmt.Errorf("--credentials (%s) %s: %w", envName("credentials"), cfg.Credentials, err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("--data-dir %s: %w", cfg.DataDir, err)
	}
	engine, err := newEngine(cfg.PingEngine, cfg.ICMPMode, ping.NewMetrics(nil), log)
	if err != nil {
		return err
	}
	log.Info("probe engine ready", "engine", engine.Name(), "icmp_mode", modeOf(engine))
	return agent.Run(ctx, agent.Options{
		Server: cfg.Server, Credential: cred, DataDir: cfg.DataDir, BufferMaxBytes: cfg.BufferMaxMB << 20,
		Engine: engine, Resolver: ping.NewResolver(groups.TargetPolicy{}, nil), Version: buildVersion(), Logger: log,
	})
}

// buildVersion is the version this binary was built from, as Go recorded it.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			return "dev-" + s.Value[:min(12, len(s.Value))]
		}
	}
	return "dev"
}
