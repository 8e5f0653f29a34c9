package groups

import (
	"fmt"
	"net/netip"
	"strings"
)

// Input limits for targets.
const (
	MinPrefixBitsV4   = 24    // largest IPv4 range accepted: /24
	MinPrefixBitsV6   = 120   // largest IPv6 range accepted: /120
	MaxTargetInputs   = 10000 // items and expanded addresses per request
	MaxHostnameLength = 253
)

// TargetPolicy is the operator's allow/deny list of networks. Unspecified, multicast
// and broadcast addresses are refused whatever it says.
type TargetPolicy struct {
	Allow []netip.Prefix // empty: everything not denied
	Deny  []netip.Prefix
}

// CheckAddr says why addr may not be probed, or returns nil. It applies to literal
// addresses and to what hostnames resolve to.
func (p TargetPolicy) CheckAddr(addr netip.Addr) error {
	addr = addr.Unmap()
	switch {
	case addr.IsUnspecified():
		return fmt.Errorf("unspecified address cannot be pinged")
	case addr.IsMulticast():
		return fmt.Errorf("multicast address cannot be pinged")
	case addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("broadcast address cannot be pinged")
	case addr.Is6() && addr.IsLinkLocalUnicast():
		return fmt.Errorf("link-local IPv6 needs a zone (%%interface), which is not supported")
	}
	for _, d := range p.Deny {
		if d.Contains(addr) {
			return fmt.Errorf("in the server's denied target networks (--deny-targets): %s", d)
		}
	}
	if len(p.Allow) == 0 {
		return nil
	}
	for _, a := range p.Allow {
		if a.Contains(addr) {
			return nil
		}
	}
	return fmt.Errorf("not in the server's allowed target networks (--allow-targets)")
}

// ParsePrefixList parses comma-separated CIDRs or IPs (an IP is a /32 or /128).
func ParsePrefixList(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			if p.Masked() != p {
				return nil, fmt.Errorf("%q has host bits set; did you mean %s?", item, p.Masked())
			}
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is not an IP address or CIDR", item)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// ParsedTarget is one accepted target.
type ParsedTarget struct {
	Input   string     // the item as typed; a CIDR yields several targets with the same Input
	Address string     // canonical IP, or lowercase hostname without a trailing dot
	IP      netip.Addr // zero for hostnames
}

// SkippedInput is one rejected item and why.
type SkippedInput struct {
	Input  string `json:"input"`
	Reason string `json:"reason"`
}

// SplitTargetInput splits pasted text on newlines, commas, semicolons and white space;
// '#' starts a comment that runs to the end of the line.
func SplitTargetInput(texts ...string) []string {
	var items []string
	for _, text := range texts {
		for _, line := range strings.Split(text, "\n") {
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			items = append(items, strings.FieldsFunc(line, func(r rune) bool {
				return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\r' || r == '\v' || r == '\f'
			})...)
		}
	}
	return items
}

// ParseTargets validates and expands items in order, de-duplicating by address.
func ParseTargets(items []string, policy TargetPolicy) (accepted []ParsedTarget, skipped []SkippedInput) {
	seen := map[string]bool{}
	for i, item := range items {
		if i >= MaxTargetInputs || len(accepted) >= MaxTargetInputs {
			skipped = append(skipped, SkippedInput{item, fmt.Sprintf("too many items in one request (max %d)", MaxTargetInputs)})
			continue
		}
		targets, err := parseItem(item, policy)
		if err != nil {
			skipped = append(skipped, SkippedInput{item, err.Error()})
			continue
		}
		fresh := 0
		for _, t := range targets {
			if seen[t.Address] || len(accepted) >= MaxTargetInputs {
				continue
			}
			seen[t.Address] = true
			accepted = append(accepted, t)
			fresh++
		}
		if fresh == 0 {
			skipped = append(skipped, SkippedInput{item, "duplicate in input"})
		}
	}
	return accepted, skipped
}

// parseItem turns one item into the targets it stands for.
func parseItem(item string, policy TargetPolicy) ([]ParsedTarget, error) {
	s := item
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if zone := strings.IndexByte(s, '%'); zone >= 0 {
		z := s[zone:]
		if slash := strings.IndexByte(z, '/'); slash >= 0 {
			z = z[:slash]
		}
		return nil, fmt.Errorf("IPv6 zones (%s) are not supported", z)
	}
	if strings.Contains(s, "/") && !strings.Contains(s, "://") {
		return parseCIDR(item, s, policy)
	}
	if addr, err := netip.ParseAddr(s); err == nil {
		addr = addr.Unmap()
		if err := policy.CheckAddr(addr); err != nil {
			return nil, err
		}
		return []ParsedTarget{{Input: item, Address: addr.String(), IP: addr}}, nil
	}
	name, err := parseHostname(s)
	if err != nil {
		return nil, err
	}
	return []ParsedTarget{{Input: item, Address: name}}, nil
}

func parseCIDR(item, s string, policy TargetPolicy) ([]ParsedTarget, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return nil, fmt.Errorf("not a valid CIDR (write it like 192.0.2.0/28 or 2001:db8::/124)")
	}
	if p.Addr().Is4In6() {
		return nil, fmt.Errorf("IPv4-mapped ranges are not supported; write the range as IPv4 (%s/%d)", p.Addr().Unmap(), p.Bits()-96)
	}
	if p.Masked() != p {
		return nil, fmt.Errorf("CIDR %s has host bits set; did you mean %s?", s, p.Masked())
	}
	minBits := MinPrefixBitsV4
	if p.Addr().Is6() {
		minBits = MinPrefixBitsV6
	}
	if p.Bits() < minBits {
		return nil, fmt.Errorf("CIDR %s is larger than /%d (%d addresses); split it into /%ds", s, minBits, 1<<(p.Addr().BitLen()-minBits), minBits)
	}
	var out []ParsedTarget
	var firstRefusal error
	for _, a := range hostsOf(p) {
		if err := policy.CheckAddr(a); err != nil {
			if firstRefusal == nil {
				firstRefusal = err
			}
			continue
		}
		out = append(out, ParsedTarget{Input: item, Address: a.String(), IP: a})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no address in %s can be pinged: %w", s, firstRefusal)
	}
	return out, nil
}

// hostsOf lists a prefix's usable host addresses: IPv4 ranges up to /30 leave out the
// network and broadcast addresses, IPv6 ranges up to /127 the subnet-router anycast one.
func hostsOf(p netip.Prefix) []netip.Addr {
	hostBits := p.Addr().BitLen() - p.Bits()
	n := 1 << hostBits
	first, last := 0, n-1
	switch {
	case p.Addr().Is4() && hostBits >= 2:
		first, last = 1, n-2
	case p.Addr().Is6() && hostBits >= 1:
		first = 1
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

// parseHostname checks an RFC 1123 name and returns it lowercased without a trailing dot.
func parseHostname(s string) (string, error) {
	switch {
	case strings.Contains(s, "://"):
		return "", fmt.Errorf("not an IP address, CIDR or hostname: remove the scheme (%s)", s[:strings.Index(s, "://")+3])
	case strings.Count(s, ":") == 1 && !strings.ContainsAny(s, "/"):
		return "", fmt.Errorf("not an IP address, CIDR or hostname: ports are not used by ping")
	}
	name := strings.ToLower(strings.TrimSuffix(s, "."))
	if len(name) > MaxHostnameLength {
		return "", fmt.Errorf("hostname is longer than %d characters", MaxHostnameLength)
	}
	if name == "" || strings.Trim(name, "0123456789.") == "" || strings.ContainsRune(name, ':') {
		return "", fmt.Errorf("not a valid IP address")
	}
	labels := strings.Split(name, ".")
	for _, label := range labels {
		if err := checkLabel(label); err != nil {
			return "", err
		}
	}
	if last := labels[len(labels)-1]; len(labels) > 1 && strings.Trim(last, "0123456789") == "" {
		return "", fmt.Errorf("not a valid IP address or hostname (the last label of a hostname is not all digits)")
	}
	return name, nil
}

func checkLabel(label string) error {
	switch {
	case label == "":
		return fmt.Errorf("not an IP address, CIDR or hostname: empty label (two dots in a row?)")
	case len(label) > 63:
		return fmt.Errorf("hostname label %.20q… is longer than 63 characters", label)
	case label[0] == '-' || label[len(label)-1] == '-':
		return fmt.Errorf("hostname label %q starts or ends with '-'", label)
	}
	for _, r := range label {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("not an IP address, CIDR or hostname: %q is not allowed in a hostname", r)
		}
	}
	return nil
}
