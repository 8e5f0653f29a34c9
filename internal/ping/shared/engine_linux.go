//go:build linux

package shared

import (
	"fmt"
	"math/rand/v2"
	"os"
	"pingdeck/internal/ping"
	"strings"
)

// New returns the shared-socket engine. It opens its sockets at once, so that
// a permission problem is reported here, with what to change.
func New(opts Options) (*Engine, error) {
	id := opts.ID
	for id == 0 {
		id = uint16(rand.Uint32())
	}
	var tries []ping.Mode
	switch opts.Mode {
	case ping.ModeAuto, "":
		tries = []ping.Mode{ping.ModeUnprivileged, ping.ModePrivileged}
	case ping.ModeUnprivileged, ping.ModePrivileged:
		tries = []ping.Mode{opts.Mode}
	default:
		return nil, fmt.Errorf("ping: shared: unknown ICMP mode %q (want auto, unprivileged or privileged)", opts.Mode)
	}

	var failures []error
	for _, mode := range tries {
		raw := mode == ping.ModePrivileged
		open := func(v6 bool) (sharedConn, error) { return openSharedSocket(v6, raw, id) }
		conn4, err := open(false)
		if err != nil {
			failures = append(failures, fmt.Errorf("%s: %w", mode, err))
			continue
		}
		s := newShared(opts, mode, id, open)
		s.conns[0] = conn4
		if conn6, err := open(true); err != nil {
			s.connErr[1] = fmt.Errorf("IPv6 unavailable: %w", err)
			s.log.Warn("ping: shared: no IPv6 ICMP socket; IPv6 targets will fail", "err", err)
		} else {
			s.conns[1] = conn6
		}
		s.log.Info("ping: shared engine ready", "mode", mode, "ipv6", s.conns[1] != nil)
		return s, nil
	}
	return nil, &sharedNoICMPError{tried: tries, causes: failures}
}

// sharedNoICMPError says that no ICMP socket could be opened, why, and what to change.
// It matches ErrNoICMP.
type sharedNoICMPError struct {
	tried  []ping.Mode
	causes []error
}

func (e *sharedNoICMPError) Error() string {
	var b strings.Builder
	b.WriteString("ping: shared: cannot open an ICMP socket (")
	for i, err := range e.causes {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	b.WriteString("). To fix, ")
	binary, err := os.Executable()
	if err != nil {
		binary = "<binary>"
	}
	var fixes []string
	for _, m := range e.tried {
		switch m {
		case ping.ModeUnprivileged:
			fixes = append(fixes, `allow unprivileged ICMP: sysctl -w net.ipv4.ping_group_range="0 2147483647" `+
				`(persist it in /etc/sysctl.d/)`)
		case ping.ModePrivileged:
			fixes = append(fixes, "grant raw sockets: setcap cap_net_raw+ep "+binary+" (or run as root)")
		}
	}
	b.WriteString(strings.Join(fixes, ", or "))
	if len(e.tried) == 1 {
		b.WriteString(", or choose the other --icmp-mode")
	}
	return b.String()
}

func (e *sharedNoICMPError) Unwrap() []error {
	return append([]error{ping.ErrNoICMP}, e.causes...)
}
