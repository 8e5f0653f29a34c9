package groups

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Limits on pasted target input. The largest CIDRs accepted are /24 (IPv4) and /120
// (IPv6), 256 addresses each.
const (
	MinPrefixBitsV4   = 24
	MinPrefixBitsV6   = 120
	MaxTargetInputs   = 10000 // items per request after splitting, and targets they expand to
	MaxHostnameLength = 253
)

// User-facing reasons shared by several rules.
const (
	reasonDuplicate = "duplicate in input"
	notATarget      = "not an IP address, CIDR or hostname"
	notAnIP         = "not a valid IP address"
	reasonTooMany   = "too many items in one request (max 10000)" // keep in step with MaxTargetInputs
)

// TargetPolicy is the server's allow/deny list of networks (admin configured).
// Unspecified, multicast and broadcast addresses, and the special-purpose blocks that
// hold no hosts (notHostBlocks), are refused regardless.
type TargetPolicy struct {
	Allow []netip.Prefix // empty means everything is allowed
	Deny  []netip.Prefix
}

// notHostBlocks are the IANA special-purpose blocks (besides the unspecified,
// multicast and broadcast addresses CheckAddr refuses on their own) whose addresses are
// no host a probe could reach. It is a lookup table, never written.
//
// Deliberately allowed: loopback (127.0.0.0/8, ::1), the benchmarking range
// 198.18.0.0/15 (pingdeck's own test hosts), private and shared address space, IPv4
// link-local, the NAT64 prefix 64:ff9b::/96, and the documentation blocks (192.0.2.0/24,
// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32): labs number real hosts from them, and
// an operator who wants them refused can list them in --deny-targets.
var notHostBlocks = [...]struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `0.0.0.0/8 is "this network" (RFC 791), not a host`},
	{netip.MustParsePrefix("240.0.0.0/4"), "240.0.0.0/4 is reserved for future use (RFC 1112), not a host"},
	{netip.MustParsePrefix("100::/64"), "100::/64 is discard-only (RFC 6666), not a host"},
}

// CheckAddr reports why addr may not be probed, or nil. It is used for literal IPs and
// for the IPs hostnames resolve to; IPv4-mapped IPv6 addresses are judged as IPv4. The
// error's message is a short user-facing reason.
func (p TargetPolicy) CheckAddr(addr netip.Addr) error {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid():
		return errors.New(notAnIP)
	case addr.Zone() != "":
		return zoneError(addr.Zone())
	case addr.IsUnspecified():
		return errors.New("unspecified address cannot be pinged")
	case addr.IsMulticast():
		return errors.New("multicast address cannot be pinged")
	case addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return errors.New("broadcast address cannot be pinged")
	case addr.Is6() && addr.IsLinkLocalUnicast():
		return errors.New("link-local IPv6 address needs a zone (%interface), and zones are not supported")
	}
	for _, b := range notHostBlocks {
		if b.prefix.Contains(addr) {
			return errors.New(b.reason)
		}
	}
	for _, d := range p.Deny {
		if d.Contains(addr) {
			return fmt.Errorf("in the server's denied target networks (--deny-targets): %s", d)
		}
	}
	if len(p.Allow) > 0 && !slices.ContainsFunc(p.Allow, func(a netip.Prefix) bool { return a.Contains(addr) }) {
		return errors.New("not in the server's allowed target networks (--allow-targets)")
	}
	return nil
}

func zoneError(zone string) error {
	return fmt.Errorf("IPv6 zones (%%%s) are not supported", zone)
}

// ParsePrefixList parses a comma-separated list of CIDRs or IPs (an IP means /32 or
// /128), as given to --allow-targets and --deny-targets. Blank items are ignored. The
// error names the bad item.
func ParsePrefixList(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parsePolicyPrefix(item)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePolicyPrefix(item string) (netip.Prefix, error) {
	if strings.Contains(item, "%") {
		return netip.Prefix{}, fmt.Errorf("%q: IPv6 zones are not supported", item)
	}
	p, err := netip.ParsePrefix(item)
	if addr, aerr := netip.ParseAddr(item); aerr == nil {
		p, err = netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	switch {
	case err != nil:
		return p, fmt.Errorf("%q is not a CIDR or IP address", item)
	case p.Addr().Is4In6():
		return p, fmt.Errorf("%q: %s", item, mappedPrefixReason(p))
	case p != p.Masked():
		return p, fmt.Errorf("%q has host bits set; did you mean %s?", item, p.Masked())
	}
	return p, nil
}

// ParsedTarget is one accepted target.
type ParsedTarget struct {
	Input   string     // the item as the user typed it (a CIDR item yields many targets with the same Input)
	Address string     // canonical: netip.Addr.String() for IPs (v4-mapped v6 unmapped to v4), lowercase hostname without trailing dot
	IP      netip.Addr // zero Addr for hostnames
}

// SkippedInput is one rejected item with a user-facing reason.
type SkippedInput struct {
	Input  string `json:"input"`
	Reason string `json:"reason"`
}

// SplitTargetInput splits pasted text into items. Items are separated by newlines
// (\n or \r\n), commas, semicolons and white space; '#' starts a comment that runs to the
// end of the line. Empty items are dropped. Each element of texts is split the same way.
func SplitTargetInput(texts ...string) []string {
	var items []string
	for _, text := range texts {
		for _, line := range strings.FieldsFunc(text, isLineBreak) {
			line, _, _ = strings.Cut(line, "#")
			items = append(items, strings.FieldsFunc(line, isSeparator)...)
		}
	}
	return items
}

func isLineBreak(r rune) bool { return r == '\n' || r == '\r' }

func isSeparator(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) }

// ParseTargets validates and expands items, in input order. Addresses already produced by
// an earlier item are not repeated: an item that adds nothing new is skipped as
// "duplicate in input". Items past MaxTargetInputs, and items that would take the number
// of accepted targets past it, are skipped too.
func ParseTargets(items []string, policy TargetPolicy) (accepted []ParsedTarget, skipped []SkippedInput) {
	seen := make(map[string]bool)
	for i, item := range items {
		if i >= MaxTargetInputs {
			skipped = append(skipped, SkippedInput{item, reasonTooMany})
			continue
		}
		targets, err := parseItem(item, policy)
		if err != nil {
			skipped = append(skipped, SkippedInput{item, err.Error()})
			continue
		}
		fresh := slices.DeleteFunc(targets, func(t ParsedTarget) bool { return seen[t.Address] })
		switch {
		case len(fresh) == 0:
			skipped = append(skipped, SkippedInput{item, reasonDuplicate})
		case len(accepted)+len(fresh) > MaxTargetInputs:
			skipped = append(skipped, SkippedInput{item, reasonTooMany})
		default:
			for _, t := range fresh {
				seen[t.Address] = true
			}
			accepted = append(accepted, fresh...)
		}
	}
	return accepted, skipped
}

// parseItem turns one item into the targets it stands for, or says why it cannot.
func parseItem(item string, policy TargetPolicy) ([]ParsedTarget, error) {
	if scheme, _, ok := strings.Cut(item, "://"); ok {
		return nil, fmt.Errorf("%s: remove the scheme (%s://)", notATarget, scheme)
	}
	if strings.Contains(item, "/") {
		return parseCIDR(item, policy)
	}
	if addr, err := netip.ParseAddr(unbracket(item)); err == nil {
		if err := policy.CheckAddr(addr); err != nil {
			return nil, err
		}
		return []ParsedTarget{ipTarget(item, addr)}, nil
	}
	name, err := parseHostname(item)
	if err != nil {
		return nil, err
	}
	return []ParsedTarget{{Input: item, Address: name}}, nil
}

func ipTarget(input string, addr netip.Addr) ParsedTarget {
	addr = addr.Unmap()
	return ParsedTarget{Input: input, Address: addr.String(), IP: addr}
}

// unbracket strips the brackets of "[2001:db8::1]".
func unbracket(s string) string {
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		return s[1 : len(s)-1]
	}
	return s
}

// parseCIDR expands a CIDR item into the addresses in it that may be pinged.
func parseCIDR(item string, policy TargetPolicy) ([]ParsedTarget, error) {
	addrPart, bitsPart, _ := strings.Cut(item, "/")
	addr, err := netip.ParseAddr(unbracket(addrPart))
	switch {
	case err != nil:
		return nil, errors.New("not a valid CIDR: the part before the / must be an IP address")
	case addr.Zone() != "":
		return nil, zoneError(addr.Zone())
	}
	p, err := netip.ParsePrefix(addr.String() + "/" + bitsPart)
	if err != nil {
		return nil, fmt.Errorf("not a valid CIDR: the prefix length must be a number from 0 to %d", addr.BitLen())
	}
	if err := checkPrefixShape(p); err != nil {
		return nil, err
	}
	var targets []ParsedTarget
	var firstRefusal error
	for _, a := range expandPrefix(p) {
		if err := policy.CheckAddr(a); err != nil {
			if firstRefusal == nil {
				firstRefusal = err
			}
			continue
		}
		targets = append(targets, ipTarget(item, a))
	}
	if len(targets) == 0 {
		return nil, firstRefusal
	}
	return targets, nil
}

// checkPrefixShape refuses IPv4-mapped, oversized and unmasked prefixes.
func checkPrefixShape(p netip.Prefix) error {
	addr, minBits := p.Addr(), MinPrefixBitsV4
	if addr.Is6() {
		minBits = MinPrefixBitsV6
	}
	switch {
	case addr.Is4In6():
		return errors.New(mappedPrefixReason(p))
	case p.Bits() < minBits:
		return fmt.Errorf("CIDR %s is larger than /%d (%d addresses); split it into /%ds",
			p, minBits, 1<<(addr.BitLen()-minBits), minBits)
	case p != p.Masked():
		return fmt.Errorf("CIDR %s has host bits set; did you mean %s?", p, p.Masked())
	}
	return nil
}

// mappedPrefixReason asks for an IPv4-mapped prefix to be written as IPv4.
func mappedPrefixReason(p netip.Prefix) string {
	const reason = "IPv4-mapped networks must be written as IPv4"
	if p.Bits() < 96 {
		return reason
	}
	return fmt.Sprintf("%s: %s", reason, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked())
}

// expandPrefix lists the hosts of a small masked prefix: IPv4 without the network and
// broadcast addresses (except /31 and /32), IPv6 without the subnet-router anycast
// address (except /128).
func expandPrefix(p netip.Prefix) []netip.Addr {
	n := 1 << (p.Addr().BitLen() - p.Bits())
	first, last := 0, n-1
	if n > 1 && (p.Addr().Is6() || n > 2) {
		first = 1
	}
	if p.Addr().Is4() && n > 2 {
		last = n - 2
	}
	out := make([]netip.Addr, 0, last-first+1)
	a := p.Addr()
	for i := 0; i <= last; i++ {
		if i >= first {
			out = append(out, a)
		}
		a = a.Next()
	}
	return out
}

// parseHostname checks an RFC 1123 hostname and returns it lowercased, without a
// trailing dot. Anything else gets the most specific reason that fits.
func parseHostname(item string) (string, error) {
	if reason := notHostnameReason(item); reason != "" {
		return "", errors.New(reason)
	}
	name := strings.TrimSuffix(item, ".")
	if len(name) > MaxHostnameLength {
		return "", fmt.Errorf("hostname is longer than %d characters", MaxHostnameLength)
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return "", errors.New("hostname has an empty label (two dots in a row, or a leading dot)")
		case len(l) > 63:
			return "", errors.New("hostname has a label longer than 63 characters")
		case l[0] == '-' || l[len(l)-1] == '-':
			return "", errors.New("hostname labels must not start or end with a hyphen")
		}
	}
	if len(labels) > 1 && !strings.ContainsFunc(labels[len(labels)-1], isASCIILetter) {
		return "", errors.New("not a valid hostname: the last label (top-level domain) must contain a letter")
	}
	return strings.ToLower(name), nil
}

// notHostnameReason explains why item, which is not an IP address, is not even made of
// hostname characters; "" means its characters are fine.
func notHostnameReason(item string) string {
	port := item[strings.LastIndexByte(item, ':')+1:]
	switch {
	case item == "":
		return "empty item"
	case strings.Trim(item, "0123456789.") == "" && strings.ContainsAny(item, "0123456789"):
		return notAnIP + ipv4Problem(item)
	case item[0] == '[' && strings.Contains(item, "]:"), strings.Count(item, ":") == 1:
		return fmt.Sprintf("%s: ports are not used by ping; remove :%s", notATarget, port)
	case item[0] == '[' || strings.Contains(item, ":"):
		return notAnIP
	}
	for _, r := range item {
		switch {
		case isASCIILetter(r) || r >= '0' && r <= '9' || r == '-' || r == '.':
		case r == '_':
			return notATarget + ": underscores are not allowed in hostnames"
		case r > unicode.MaxASCII:
			return notATarget + ": write international names in their xn-- (punycode) form"
		default:
			return fmt.Sprintf("%s: unexpected character %q", notATarget, r)
		}
	}
	return ""
}

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// ipv4Problem says what is wrong with s, made only of digits and dots, as an IPv4 address.
func ipv4Problem(s string) string {
	if _, err := netip.ParseAddr(strings.TrimSuffix(s, ".")); err == nil {
		return ": remove the trailing dot"
	}
	fields := strings.Split(s, ".")
	if len(fields) != 4 {
		return ": IPv4 addresses are 4 numbers separated by dots"
	}
	for _, f := range fields {
		n, err := strconv.Atoi(f)
		switch {
		case f == "":
			return ": a number is missing between dots"
		case len(f) > 1 && f[0] == '0':
			return ": leading zeros are not allowed"
		case err != nil || n > 255:
			return ": each number must be from 0 to 255"
		}
	}
	return ""
}
