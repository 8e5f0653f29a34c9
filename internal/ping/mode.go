package ping

import (
	"errors"
	"fmt"

	"golang.org/x/net/icmp"
)

// ErrNoICMP says that this process may not send ICMP at all, and what to change.
var ErrNoICMP = errors.New(`ping: cannot open an ICMP socket. Allow unprivileged ICMP with ` +
	`sysctl -w net.ipv4.ping_group_range="0 2147483647" (preferred), or give the binary raw sockets ` +
	`with setcap cap_net_raw+ep <binary> (or run as root)`)

// DetectMode returns the ICMP mode this process can use: the one asked for, or for
// ModeAuto unprivileged datagram sockets when allowed, else raw sockets.
func DetectMode(want Mode) (Mode, error) {
	try := []Mode{want}
	if want == ModeAuto || want == "" {
		try = []Mode{ModeUnprivileged, ModePrivileged}
	}
	var errs []error
	for _, m := range try {
		network := "udp4"
		if m == ModePrivileged {
			network = "ip4:icmp"
		} else if m != ModeUnprivileged {
			return "", fmt.Errorf("ping: unknown ICMP mode %q (want auto, unprivileged or privileged)", m)
		}
		c, err := icmp.ListenPacket(network, "0.0.0.0")
		if err == nil {
			c.Close()
			return m, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", m, err))
	}
	return "", fmt.Errorf("%w (%w)", ErrNoICMP, errors.Join(errs...))
}
