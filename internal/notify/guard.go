package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"pingdeck/internal/groups"
)

// Resolver looks host names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// checkURL checks the form of an http(s) URL a channel sends to.
func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return groups.Invalid(field, "is required")
	case err != nil:
		return groups.Invalid(field, "is not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return groups.Invalid(field, "must be an http:// or https:// URL")
	case u.Hostname() == "":
		return groups.Invalid(field, "has no host")
	case u.User != nil:
		return groups.Invalid(field, "must not carry a user name or password")
	}
	return nil
}

// internalReason says why a channel may not reach addr unless an admin set it up
// (loopback, link-local — cloud metadata lives there —, unspecified, multicast), or "".
// Private ranges are allowed: receivers on the team's own network are the common case.
func internalReason(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case addr.IsLoopback():
		return "a loopback address"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return "a link-local address"
	case addr.IsUnspecified(), addr.Is4() && addr.As4()[0] == 0:
		return "an unspecified address"
	case addr.IsMulticast(), addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "a multicast or broadcast address"
	}
	return ""
}

// CheckDestination resolves where channel c sends to and refuses, naming the field, a
// host that does not resolve or (unless c.AllowInternal) resolves to an internal
// address. It runs when a channel is created or updated; sends check again as they
// dial, since DNS can change.
func CheckDestination(ctx context.Context, r Resolver, c *Channel) error {
	field, host := "config.url", ""
	switch c.Kind {
	case KindSlack:
		field = "secret"
		fallthrough
	case KindWebhook, KindAlertmanager:
		u, err := url.Parse(c.URL())
		if err != nil {
			return groups.Invalid(field, "is not a URL")
		}
		host = u.Hostname()
	case KindEmail:
		cfg, err := decode[EmailConfig](c)
		if err != nil {
			return err
		}
		field, host = "config.host", cfg.Host
	default:
		return groups.Invalid("kind", "unknown kind %q", c.Kind)
	}
	addrs, err := lookup(ctx, r, host)
	if err != nil {
		return groups.Invalid(field, "host %s does not resolve: %v", host, err)
	}
	if c.AllowInternal {
		return nil
	}
	for _, a := range addrs {
		if why := internalReason(a); why != "" {
			return groups.Invalid(field, "%s resolves to %s, %s; only admins may point channels at loopback or link-local addresses", host, a, why)
		}
	}
	return nil
}

func lookup(ctx context.Context, r Resolver, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no addresses")
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		err = errors.New(dnsErr.Err)
	}
	return addrs, err
}

// errInternalAddress is the dial-time refusal of an internal address.
var errInternalAddress = errors.New("refused to connect to an internal address")

// newDialer returns a dialer that, unless allowInternal, refuses at connect time every
// address internalReason names — whatever DNS answered when the channel was saved.
func newDialer(allowInternal bool) *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowInternal {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("notify: dial %s: %w", address, err)
			}
			if why := internalReason(ap.Addr()); why != "" {
				return fmt.Errorf("notify: %s is %s: %w", net.JoinHostPort(ap.Addr().String(), strconv.Itoa(int(ap.Port()))), why, errInternalAddress)
			}
			return nil
		}
	}
	return d
}
