package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pingdeck/internal/netlimit"
)

// Connection limits: how many connections pingdeck holds, and how long a request's body
// may take, so that slow or many clients cannot take every file descriptor.
const (
	maxConnectionsCeiling = 10000 // the derived --max-connections never exceeds this
	minDerivedConnections = 64
	refusalLogEvery       = 10 * time.Second
)

// maxConnectionsFor is --max-connections when it is 0: half the open-file limit (the
// other half is for probe sockets — one a target with the probing engine — the database,
// the spool and the bus), at least 64, at most 10000. An unknown limit (0) gives 10000.
func maxConnectionsFor(nofile uint64) int {
	if nofile == 0 {
		return maxConnectionsCeiling
	}
	return int(max(minDerivedConnections, min(maxConnectionsCeiling, nofile/2)))
}

// limitConnections raises the open-file limit, then wraps ln so that it holds at most
// --max-connections connections, and --max-connections-per-ip from one client address
// (--trusted-proxies exempt); connections over either are closed at once. Refusals are
// counted in pingdeck_connections_refused_total and logged at most every 10 s.
func limitConnections(ln net.Listener, cfg *config, reg prometheus.Registerer, log *slog.Logger) (*netlimit.Listener, error) {
	soft, hard, err := raiseFileLimit()
	if err != nil {
		log.Warn("could not raise the open-file limit; connections are capped below it", "err", err, "soft", soft, "hard", hard)
	}
	maxConns := cfg.MaxConnections
	if maxConns == 0 {
		maxConns = max(maxConnectionsFor(soft), cfg.MaxConnectionsPerIP)
	} else if soft > 0 && uint64(maxConns) > soft {
		log.Warn("--max-connections is above the open-file limit: new connections and files fail with \"too many open files\" before it is reached",
			"max_connections", maxConns, "open_file_limit", soft)
	}
	log.Info("connection limits", "open_file_limit", soft, "open_file_hard_limit", hard, "max_connections", maxConns,
		"max_connections_per_ip", cfg.MaxConnectionsPerIP, "request_read_timeout", cfg.RequestReadTimeout.String())
	exempt, err := parsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pingdeck_connections_refused_total",
		Help: "Connections closed at once because a limit was reached: per_address (--max-connections-per-ip) or total (--max-connections).",
	}, []string{"reason"})
	logRefusal := newRefusalLog(log, maxConns, cfg.MaxConnectionsPerIP)
	limited, err := netlimit.Wrap(ln, netlimit.Options{
		MaxTotal: maxConns, MaxPerAddress: cfg.MaxConnectionsPerIP, Exempt: exempt,
		OnRefuse: func(client netip.Addr, why netlimit.Reason) {
			refused.WithLabelValues(string(why)).Inc()
			logRefusal.note(client, why, time.Now())
		},
	})
	if err != nil {
		return nil, err
	}
	for _, why := range []netlimit.Reason{netlimit.PerAddress, netlimit.Total} {
		refused.WithLabelValues(string(why)) // present at 0
	}
	reg.MustRegister(refused, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pingdeck_connections_open", Help: "Client connections open now (HTTP and WebSocket).",
	}, func() float64 { return float64(limited.Open()) }))
	return limited, nil
}

// parsePrefixes reads IPs and CIDRs (validated with the config).
func parsePrefixes(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range entries {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			a, aerr := netip.ParseAddr(e)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not an IP or CIDR", e)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// refusalLog logs refused connections at most once per refusalLogEvery, with how many
// were refused since the last line, so a flood cannot flood the log too.
type refusalLog struct {
	log                    *slog.Logger
	maxConns, maxPerClient int

	mu      sync.Mutex
	last    time.Time
	dropped int
}

func newRefusalLog(log *slog.Logger, maxConns, maxPerClient int) *refusalLog {
	return &refusalLog{log: log, maxConns: maxConns, maxPerClient: maxPerClient}
}

func (r *refusalLog) note(client netip.Addr, why netlimit.Reason, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropped++
	if now.Sub(r.last) < refusalLogEvery {
		return
	}
	if why == netlimit.PerAddress {
		r.log.Warn("refusing connections: one client address holds --max-connections-per-ip",
			"client", client.String(), "limit", r.maxPerClient, "refused_since_last_log", r.dropped)
	} else {
		r.log.Warn("refusing connections: --max-connections are open",
			"client", client.String(), "limit", r.maxConns, "refused_since_last_log", r.dropped)
	}
	r.last, r.dropped = now, 0
}

// boundRequestReads gives a request's body --request-read-timeout to arrive after its
// headers (which --listen's server bounds to 10 s), so a client trickling a body cannot
// hold a connection: the read fails, the handler answers 408 and the connection is
// closed; a handler that does not read the body has the server discard it within the
// same deadline. http.Server.ReadTimeout would do this for every connection, and so cut
// the WebSocket streams, which never end; requests without a body (WebSocket handshakes
// among them) get no deadline. Once the body is read the deadline is lifted, as the
// server's own read for a client hang-up would otherwise end the request at it.
func boundRequestReads(h http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || (r.ContentLength == 0 && len(r.TransferEncoding) == 0) {
			h.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(timeout)); err == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		}
		h.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline when the body has been read to its end.
type deadlineBody struct {
	io.ReadCloser
	lift   func()
	lifted bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.lifted {
		b.lifted = true
		b.lift()
	}
	return n, err
}
