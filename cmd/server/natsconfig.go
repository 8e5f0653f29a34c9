package main

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// minNATSPasswordLen: a listening bus is reachable from the network; its password
// guards every result and change.
const minNATSPasswordLen = 12

// validate checks the bus settings, telling bad about each one at fault.
func (n natsConfig) validate(bad func(name, format string, args ...any)) {
	if n.MaxMB < 1 {
		bad("bus-max-mb", "must be at least 1, got %d", n.MaxMB)
	}
	if n.MaxAge < time.Minute {
		bad("bus-max-age", "must be at least 1m, got %s", n.MaxAge)
	}
	if n.URL != "" {
		for _, u := range strings.Split(n.URL, ",") {
			parsed, err := url.Parse(strings.TrimSpace(u))
			if err != nil || parsed.Host == "" {
				bad("nats-url", "%q is not a URL like nats://host:4222", u)
				continue
			}
			switch parsed.Scheme {
			case "nats", "tls", "ws", "wss":
			default:
				bad("nats-url", "%q: scheme must be nats, tls, ws or wss", u)
			}
		}
		if n.Listen != "" {
			bad("nats-listen", "opens the embedded NATS server, and with --nats-url nothing is embedded: give one or the other")
		}
	}
	if (n.User == "") != (n.Password == "") {
		bad("nats-password", "--nats-user and --nats-password go together: give both or neither")
	}
	if n.Listen != "" {
		host, port, err := net.SplitHostPort(n.Listen)
		if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 0 || p > 65535 {
			bad("nats-listen", "must be host:port (e.g. 0.0.0.0:4222), got %q", n.Listen)
		} else if host != "" && net.ParseIP(host) == nil && host != "localhost" {
			bad("nats-listen", "host must be an IP address or localhost, got %q", host)
		}
		switch {
		case n.User == "" || n.Password == "":
			bad("nats-listen", "refusing to open the bus to the network without credentials: set --nats-user and --nats-password (PINGDECK_NATS_USER, PINGDECK_NATS_PASSWORD); anonymous access is never allowed")
		case len(n.Password) < minNATSPasswordLen:
			bad("nats-password", "must be at least %d characters when --nats-listen is set", minNATSPasswordLen)
		}
	}
	if (n.TLSCert == "") != (n.TLSKey == "") {
		bad("nats-tls-key", "--nats-tls-cert and --nats-tls-key go together: give both or neither")
	}
	if n.TLSCert != "" && n.Listen == "" {
		bad("nats-tls-cert", "secures the --nats-listen listener: set --nats-listen too")
	}
}
