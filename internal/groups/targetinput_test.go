package groups

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// name253 is a valid hostname of the greatest length.
var name253 = strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 61)

func addresses(ts []ParsedTarget) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Address
	}
	return out
}

func TestReasonTooManyMatchesLimit(t *testing.T) {
	if want := fmt.Sprintf("too many items in one request (max %d)", MaxTargetInputs); reasonTooMany != want {
		t.Fatalf("reasonTooMany = %q, want %q", reasonTooMany, want)
	}
}

func TestSplitTargetInput(t *testing.T) {
	tests := []struct {
		name  string
		texts []string
		want  []string
	}{
		{"newlines", []string{"a\nb\n\nc\n"}, []string{"a", "b", "c"}},
		{"crlf", []string{"a\r\nb\r\n"}, []string{"a", "b"}},
		{"lone cr", []string{"a # x\rb"}, []string{"a", "b"}},
		{"mixed separators", []string{"a, b;c\td  e,,;"}, []string{"a", "b", "c", "d", "e"}},
		{"comments", []string{"10.0.0.1  # core router\n# whole line\nhost#x\n10.0.0.2"}, []string{"10.0.0.1", "host", "10.0.0.2"}},
		{"several texts", []string{"a b", "c", "", "# nothing"}, []string{"a", "b", "c"}},
		{"non-breaking space", []string{"a\u00a0b"}, []string{"a", "b"}},
		{"nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SplitTargetInput(tt.texts...); !slices.Equal(got, tt.want) {
				t.Fatalf("SplitTargetInput(%q) = %q, want %q", tt.texts, got, tt.want)
			}
		})
	}
}

func TestParseTargetsAccepts(t *testing.T) {
	tests := []struct {
		name, input string
		policy      TargetPolicy
		want        []string
	}{
		{"ipv4", "192.0.2.1", TargetPolicy{}, []string{"192.0.2.1"}},
		{"ipv6 canonical", "2001:DB8:0:0::1", TargetPolicy{}, []string{"2001:db8::1"}},
		{"brackets", "[2001:db8::1]", TargetPolicy{}, []string{"2001:db8::1"}},
		{"v4-mapped unmapped", "::ffff:192.0.2.1", TargetPolicy{}, []string{"192.0.2.1"}},
		{"loopback", "127.0.0.1", TargetPolicy{}, []string{"127.0.0.1"}},
		{"hostname lowercased", "Router-1.Example.NET.", TargetPolicy{}, []string{"router-1.example.net"}},
		{"single label", "localhost", TargetPolicy{}, []string{"localhost"}},
		{"digit-led labels", "1.2.3a", TargetPolicy{}, []string{"1.2.3a"}},
		{"hostname ignores policy", "example.com", TargetPolicy{Allow: prefixes("10.0.0.0/8")}, []string{"example.com"}},
		{"253 chars", name253, TargetPolicy{}, []string{name253}},
		{"253 chars and a dot", name253 + ".", TargetPolicy{}, []string{name253}},
		{"/31", "192.0.2.0/31", TargetPolicy{}, []string{"192.0.2.0", "192.0.2.1"}},
		{"/32", "192.0.2.7/32", TargetPolicy{}, []string{"192.0.2.7"}},
		{"/30", "192.0.2.4/30", TargetPolicy{}, []string{"192.0.2.5", "192.0.2.6"}},
		{"v6 /126", "2001:db8::/126", TargetPolicy{}, []string{"2001:db8::1", "2001:db8::2", "2001:db8::3"}},
		{"v6 /127", "2001:db8::/127", TargetPolicy{}, []string{"2001:db8::1"}},
		{"v6 /128", "2001:db8::5/128", TargetPolicy{}, []string{"2001:db8::5"}},
		{"bracketed cidr", "[2001:db8::]/127", TargetPolicy{}, []string{"2001:db8::1"}},
		{"allowed", "10.1.2.3", TargetPolicy{Allow: prefixes("10.0.0.0/8")}, []string{"10.1.2.3"}},
		{"allowed v6", "2001:db8::1", TargetPolicy{Allow: prefixes("10.0.0.0/8", "2001:db8::/32")}, []string{"2001:db8::1"}},
		{"mapped checked as v4", "::ffff:10.1.2.3", TargetPolicy{Allow: prefixes("10.0.0.0/8")}, []string{"10.1.2.3"}},
		{"cidr partly denied", "10.0.0.0/29", TargetPolicy{Deny: prefixes("10.0.0.4/30")}, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}},
		{"cidr partly allowed", "10.0.0.0/29", TargetPolicy{Allow: prefixes("10.0.0.6/31")}, []string{"10.0.0.6"}},
		{"cidr skips multicast", "ff02::/127", TargetPolicy{}, nil},
		// Special-purpose blocks that stay allowed: the edges of the refused ones,
		// the benchmarking range (the netns test hosts), NAT64 and documentation.
		{"just past this-network", "1.0.0.0", TargetPolicy{}, []string{"1.0.0.0"}},
		{"just below multicast", "223.255.255.255", TargetPolicy{}, []string{"223.255.255.255"}},
		{"benchmarking", "198.18.0.1", TargetPolicy{}, []string{"198.18.0.1"}},
		{"benchmarking top", "198.19.255.254", TargetPolicy{}, []string{"198.19.255.254"}},
		{"loopback top", "127.255.255.254", TargetPolicy{}, []string{"127.255.255.254"}},
		{"v6 loopback", "::1", TargetPolicy{}, []string{"::1"}},
		{"nat64", "64:ff9b::c000:201", TargetPolicy{}, []string{"64:ff9b::c000:201"}},
		{"documentation v6", "2001:db8:ffff::1", TargetPolicy{}, []string{"2001:db8:ffff::1"}},
		{"just past discard-only", "100:0:0:1::1", TargetPolicy{}, []string{"100:0:0:1::1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, skipped := ParseTargets([]string{tt.input}, tt.policy)
			if tt.want == nil {
				if len(got) != 0 || len(skipped) != 1 {
					t.Fatalf("got %+v, skipped %+v; want it skipped", got, skipped)
				}
				return
			}
			if len(skipped) != 0 || !slices.Equal(addresses(got), tt.want) {
				t.Fatalf("got %q, skipped %+v; want %q", addresses(got), skipped, tt.want)
			}
			for _, p := range got {
				if p.Input != tt.input {
					t.Errorf("Input = %q, want %q", p.Input, tt.input)
				}
				if ip, err := netip.ParseAddr(p.Address); err == nil && ip != p.IP {
					t.Errorf("IP = %v, want %v", p.IP, ip)
				} else if err != nil && p.IP.IsValid() {
					t.Errorf("hostname %q has IP %v", p.Address, p.IP)
				}
			}
		})
	}
}

func TestParseTargetsRejects(t *testing.T) {
	tests := []struct {
		name, input string
		policy      TargetPolicy
		want        []string // words the reason must contain
	}{
		{"zone", "fe80::1%eth0", TargetPolicy{}, []string{"zones (%eth0) are not supported"}},
		{"zone bracketed", "[fe80::1%eth0]", TargetPolicy{}, []string{"%eth0", "not supported"}},
		{"zone in cidr", "fe80::%eth0/120", TargetPolicy{}, []string{"%eth0", "not supported"}},
		{"zone on global v6", "2001:db8::1%2", TargetPolicy{}, []string{"%2", "not supported"}},
		{"unspecified v4", "0.0.0.0", TargetPolicy{}, []string{"unspecified address cannot be pinged"}},
		{"unspecified v6", "::", TargetPolicy{}, []string{"unspecified address cannot be pinged"}},
		{"unspecified mapped", "::ffff:0.0.0.0", TargetPolicy{}, []string{"unspecified"}},
		{"multicast v4", "224.0.0.1", TargetPolicy{}, []string{"multicast address cannot be pinged"}},
		{"multicast v4 top", "239.255.255.255", TargetPolicy{}, []string{"multicast"}},
		{"multicast v6", "ff02::1", TargetPolicy{}, []string{"multicast address cannot be pinged"}},
		{"broadcast", "255.255.255.255", TargetPolicy{}, []string{"broadcast address cannot be pinged"}},
		{"this network", "0.1.2.3", TargetPolicy{}, []string{`0.0.0.0/8 is "this network"`, "not a host"}},
		{"this network top", "0.255.255.255", TargetPolicy{}, []string{"0.0.0.0/8"}},
		{"this network cidr", "0.0.0.0/24", TargetPolicy{}, []string{"0.0.0.0/8", "not a host"}},
		{"this network mapped", "::ffff:0.1.2.3", TargetPolicy{}, []string{"0.0.0.0/8"}},
		{"reserved", "240.0.0.1", TargetPolicy{}, []string{"240.0.0.0/4 is reserved", "not a host"}},
		{"reserved top", "255.255.255.254", TargetPolicy{}, []string{"240.0.0.0/4"}},
		{"reserved cidr", "250.1.2.0/24", TargetPolicy{}, []string{"240.0.0.0/4"}},
		{"reserved mapped", "::ffff:240.0.0.1", TargetPolicy{}, []string{"240.0.0.0/4"}},
		{"discard-only", "100::1", TargetPolicy{}, []string{"100::/64 is discard-only", "not a host"}},
		{"discard-only cidr", "100::ff00/120", TargetPolicy{}, []string{"100::/64"}},
		{"link-local v6", "fe80::1", TargetPolicy{}, []string{"link-local", "zone", "not supported"}},
		{"not allowed", "192.0.2.1", TargetPolicy{Allow: prefixes("10.0.0.0/8")}, []string{"not in the server's allowed target networks (--allow-targets)"}},
		{"v6 not allowed by v4 list", "2001:db8::1", TargetPolicy{Allow: prefixes("10.0.0.0/8")}, []string{"--allow-targets"}},
		{"denied", "10.1.2.3", TargetPolicy{Deny: prefixes("10.0.0.0/8")}, []string{"in the server's denied target networks (--deny-targets): 10.0.0.0/8"}},
		{"deny wins over allow", "10.1.2.3", TargetPolicy{Allow: prefixes("10.0.0.0/8"), Deny: prefixes("10.1.0.0/16")}, []string{"--deny-targets", "10.1.0.0/16"}},
		{"mapped denied", "::ffff:10.1.2.3", TargetPolicy{Deny: prefixes("10.0.0.0/8")}, []string{"--deny-targets"}},
		{"cidr wholly denied", "10.0.0.0/28", TargetPolicy{Deny: prefixes("10.0.0.0/24")}, []string{"--deny-targets", "10.0.0.0/24"}},
		{"cidr wholly outside allow", "10.0.0.0/28", TargetPolicy{Allow: prefixes("192.0.2.0/24")}, []string{"--allow-targets"}},
		{"cidr multicast", "224.0.0.0/28", TargetPolicy{}, []string{"multicast"}},
		{"cidr link-local", "fe80::/120", TargetPolicy{}, []string{"link-local"}},
		{"cidr broadcast", "255.255.255.255/32", TargetPolicy{}, []string{"broadcast"}},
		{"unmasked", "10.0.0.5/28", TargetPolicy{}, []string{"CIDR 10.0.0.5/28 has host bits set; did you mean 10.0.0.0/28?"}},
		{"unmasked v6", "2001:db8::5/124", TargetPolicy{}, []string{"host bits", "did you mean 2001:db8::/124?"}},
		{"too large v4", "10.0.0.0/16", TargetPolicy{}, []string{"CIDR 10.0.0.0/16 is larger than /24 (256 addresses); split it into /24s"}},
		{"too large v4 /0", "0.0.0.0/0", TargetPolicy{}, []string{"larger than /24"}},
		{"too large v6", "2001:db8::/64", TargetPolicy{}, []string{"larger than /120", "/120s"}},
		{"too large and unmasked", "10.0.0.5/16", TargetPolicy{}, []string{"larger than /24"}},
		{"mapped cidr", "::ffff:10.0.0.0/120", TargetPolicy{}, []string{"must be written as IPv4", "10.0.0.0/24"}},
		{"mapped cidr short", "::ffff:0:0/80", TargetPolicy{}, []string{"must be written as IPv4"}},
		{"bad prefix length", "10.0.0.0/33", TargetPolicy{}, []string{"not a valid CIDR", "0 to 32"}},
		{"bad prefix length v6", "2001:db8::/x", TargetPolicy{}, []string{"not a valid CIDR", "0 to 128"}},
		{"cidr of hostname", "example.com/24", TargetPolicy{}, []string{"not a valid CIDR", "IP address"}},
		{"ipv4 field too big", "256.1.1.1", TargetPolicy{}, []string{"not a valid IP address", "0 to 255"}},
		{"ipv4 three fields", "1.2.3", TargetPolicy{}, []string{"not a valid IP address", "4 numbers"}},
		{"ipv4 leading zero", "010.1.1.1", TargetPolicy{}, []string{"not a valid IP address", "leading zeros"}},
		{"ipv4 empty field", "1..2.3", TargetPolicy{}, []string{"not a valid IP address", "missing"}},
		{"number", "12345", TargetPolicy{}, []string{"not a valid IP address"}},
		{"bad ipv6", "2001:db8::g", TargetPolicy{}, []string{"not a valid IP address"}},
		{"bad bracket", "[example.com]", TargetPolicy{}, []string{"not a valid IP address"}},
		{"url", "http://example.com", TargetPolicy{}, []string{"not an IP address, CIDR or hostname", "remove the scheme"}},
		{"url with path", "https://example.com/x", TargetPolicy{}, []string{"remove the scheme (https://)"}},
		{"host:port", "example.com:80", TargetPolicy{}, []string{"not an IP address, CIDR or hostname", "ports are not used by ping; remove :80"}},
		{"ip:port", "192.0.2.1:80", TargetPolicy{}, []string{"ports are not used by ping"}},
		{"[v6]:port", "[2001:db8::1]:80", TargetPolicy{}, []string{"ports are not used by ping"}},
		{"underscore", "my_host.example.com", TargetPolicy{}, []string{"not an IP address, CIDR or hostname", "underscore"}},
		{"other character", "user@example.com", TargetPolicy{}, []string{"not an IP address, CIDR or hostname", "'@'"}},
		{"unicode", "bücher.example", TargetPolicy{}, []string{"punycode"}},
		{"too long", strings.Repeat("a", 300), TargetPolicy{}, []string{"hostname is longer than 253 characters"}},
		{"254 chars", name253 + "b", TargetPolicy{}, []string{"longer than 253"}},
		{"long label", strings.Repeat("a", 64) + ".com", TargetPolicy{}, []string{"label longer than 63"}},
		{"empty label", "a..example.com", TargetPolicy{}, []string{"empty label"}},
		{"leading dot", ".example.com", TargetPolicy{}, []string{"empty label"}},
		{"two trailing dots", "example.com..", TargetPolicy{}, []string{"empty label"}},
		{"leading hyphen", "-a.example.com", TargetPolicy{}, []string{"hyphen"}},
		{"trailing hyphen", "a-.example.com", TargetPolicy{}, []string{"hyphen"}},
		{"numeric tld", "host.123", TargetPolicy{}, []string{"last label", "letter"}},
		{"just a dot", ".", TargetPolicy{}, []string{"empty label"}},
		{"empty", "", TargetPolicy{}, []string{"empty"}},
		{"ipv4 trailing dot", "192.0.2.1.", TargetPolicy{}, []string{"not a valid IP address", "trailing dot"}},
		{"empty zone", "fe80::1%", TargetPolicy{}, []string{"not a valid IP address"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, skipped := ParseTargets([]string{tt.input}, tt.policy)
			if len(got) != 0 || len(skipped) != 1 {
				t.Fatalf("got %+v, skipped %+v; want one skip", got, skipped)
			}
			if skipped[0].Input != tt.input {
				t.Errorf("Input = %q, want %q", skipped[0].Input, tt.input)
			}
			for _, w := range tt.want {
				if !strings.Contains(skipped[0].Reason, w) {
					t.Errorf("reason %q does not contain %q", skipped[0].Reason, w)
				}
			}
		})
	}
}

func TestParseTargetsExpandsCIDRs(t *testing.T) {
	tests := []struct {
		cidr        string
		n           int
		first, last string
	}{
		{"10.0.0.0/28", 14, "10.0.0.1", "10.0.0.14"},
		{"10.0.0.0/24", 254, "10.0.0.1", "10.0.0.254"},
		{"10.0.0.0/31", 2, "10.0.0.0", "10.0.0.1"},
		{"2001:db8::/120", 255, "2001:db8::1", "2001:db8::ff"},
		{"2001:db8::/124", 15, "2001:db8::1", "2001:db8::f"},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			got, skipped := ParseTargets([]string{tt.cidr}, TargetPolicy{})
			if len(skipped) != 0 || len(got) != tt.n {
				t.Fatalf("%d targets, skipped %+v; want %d", len(got), skipped, tt.n)
			}
			if got[0].Address != tt.first || got[len(got)-1].Address != tt.last {
				t.Fatalf("range %s–%s, want %s–%s", got[0].Address, got[len(got)-1].Address, tt.first, tt.last)
			}
		})
	}
}

func TestParseTargetsDeduplicates(t *testing.T) {
	tests := []struct {
		name    string
		items   []string
		want    []string
		skipped []string // inputs skipped as duplicates
	}{
		{"same ip", []string{"192.0.2.1", "192.0.2.1"}, []string{"192.0.2.1"}, []string{"192.0.2.1"}},
		{"v4 then mapped", []string{"192.0.2.1", "::ffff:192.0.2.1"}, []string{"192.0.2.1"}, []string{"::ffff:192.0.2.1"}},
		{"mapped then v4", []string{"::ffff:192.0.2.1", "192.0.2.1"}, []string{"192.0.2.1"}, []string{"192.0.2.1"}},
		{"v6 spellings", []string{"2001:db8::1", "[2001:DB8:0::1]"}, []string{"2001:db8::1"}, []string{"[2001:DB8:0::1]"}},
		{"hostname case and dot", []string{"Example.com", "example.COM."}, []string{"example.com"}, []string{"example.COM."}},
		{"ip then overlapping cidr", []string{"192.0.2.2", "192.0.2.0/30"}, []string{"192.0.2.2", "192.0.2.1"}, nil},
		{"cidr then contained ip", []string{"192.0.2.0/30", "192.0.2.2"}, []string{"192.0.2.1", "192.0.2.2"}, []string{"192.0.2.2"}},
		{"cidr adding nothing", []string{"192.0.2.1", "192.0.2.2", "192.0.2.0/30"}, []string{"192.0.2.1", "192.0.2.2"}, []string{"192.0.2.0/30"}},
		{"overlapping cidrs", []string{"192.0.2.0/29", "192.0.2.4/30"}, []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6"}, []string{"192.0.2.4/30"}},
		{"/31 overlapping /30 hosts", []string{"192.0.2.0/30", "192.0.2.0/31"}, []string{"192.0.2.1", "192.0.2.2", "192.0.2.0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, skipped := ParseTargets(tt.items, TargetPolicy{})
			if !slices.Equal(addresses(got), tt.want) {
				t.Errorf("accepted %q, want %q", addresses(got), tt.want)
			}
			var dups []string
			for _, s := range skipped {
				if s.Reason != "duplicate in input" {
					t.Errorf("unexpected skip %+v", s)
				}
				dups = append(dups, s.Input)
			}
			if !slices.Equal(dups, tt.skipped) {
				t.Errorf("skipped %q, want %q", dups, tt.skipped)
			}
		})
	}
}

func TestParseTargetsLimits(t *testing.T) {
	t.Run("too many items", func(t *testing.T) {
		items := make([]string, MaxTargetInputs+3)
		for i := range items {
			items[i] = fmt.Sprintf("h%d.example", i)
		}
		got, skipped := ParseTargets(items, TargetPolicy{})
		if len(got) != MaxTargetInputs || len(skipped) != 3 {
			t.Fatalf("accepted %d, skipped %d", len(got), len(skipped))
		}
		for i, s := range skipped {
			if s.Input != items[MaxTargetInputs+i] || s.Reason != "too many items in one request (max 10000)" {
				t.Errorf("skipped[%d] = %+v", i, s)
			}
		}
	})
	t.Run("expansion past the cap", func(t *testing.T) {
		var items []string
		for i := range MaxTargetInputs/254 - 1 {
			items = append(items, fmt.Sprintf("10.%d.%d.0/24", i/256, i%256))
		}
		for i := range MaxTargetInputs - len(items)*254 - 7 {
			items = append(items, fmt.Sprintf("h%d.example", i))
		}
		items = append(items, "192.0.2.0/28", "192.0.2.240/29", "2001:db8::1", "one-too-many.example")
		got, skipped := ParseTargets(items, TargetPolicy{})
		want := []SkippedInput{{"192.0.2.0/28", reasonTooMany}, {"one-too-many.example", reasonTooMany}}
		if len(got) != MaxTargetInputs || !slices.Equal(skipped, want) {
			t.Fatalf("accepted %d, skipped %+v", len(got), skipped)
		}
		if got[len(got)-1].Address != "2001:db8::1" {
			t.Fatalf("last accepted %q", got[len(got)-1].Address)
		}
	})
}

func TestCheckAddr(t *testing.T) {
	p := TargetPolicy{Deny: prefixes("192.0.2.0/24")}
	tests := []struct {
		addr netip.Addr
		want string
	}{
		{netip.MustParseAddr("198.51.100.1"), ""},
		{netip.MustParseAddr("::ffff:192.0.2.1"), "--deny-targets"},
		{netip.MustParseAddr("fe80::1%eth0"), "zones (%eth0)"},
		{netip.Addr{}, "not a valid IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.addr.String(), func(t *testing.T) {
			err := p.CheckAddr(tt.addr)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("CheckAddr(%v) = %v, want %q", tt.addr, err, tt.want)
			}
		})
	}
}

func TestParsePrefixList(t *testing.T) {
	tests := []struct {
		in      string
		want    []netip.Prefix
		wantErr string
	}{
		{"", nil, ""},
		{" , ", nil, ""},
		{"10.0.0.0/8", prefixes("10.0.0.0/8"), ""},
		{"10.0.0.0/8, 192.0.2.1 ,2001:db8::/32,2001:db8::1", prefixes("10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32", "2001:db8::1/128"), ""},
		{"10.0.0.0/33", nil, `"10.0.0.0/33"`},
		{"10.0.0.0/8,nope", nil, `"nope" is not a CIDR or IP address`},
		{"10.0.0.1/8", nil, "did you mean 10.0.0.0/8?"},
		{"fe80::1%eth0", nil, "zones"},
		{"fe80::%eth0/64", nil, "zones"},
		{"::ffff:10.0.0.0/104", nil, "IPv4: 10.0.0.0/8"},
		{"::ffff:10.0.0.1", nil, "IPv4: 10.0.0.1/32"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePrefixList(tt.in)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			case !slices.Equal(got, tt.want):
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{
		"192.0.2.1, ::ffff:192.0.2.1 # c", "10.0.0.0/28\r\n10.0.0.5", "[2001:db8::1]", "fe80::1%eth0",
		"Example.COM.", "256.1.1.1", "http://x", "a:80", "2001:db8::/120", "::ffff:10.0.0.0/120", "a_b",
	} {
		f.Add(s)
	}
	policy := TargetPolicy{Allow: prefixes("0.0.0.0/1", "2001:db8::/32", "::/1"), Deny: prefixes("10.0.0.128/25")}
	f.Fuzz(func(t *testing.T, text string) {
		items := SplitTargetInput(text)
		accepted, skipped := ParseTargets(items, policy)
		seen := map[string]bool{}
		inputs := map[string]bool{}
		for _, p := range accepted {
			if seen[p.Address] {
				t.Fatalf("%q accepted twice", p.Address)
			}
			seen[p.Address] = true
			inputs[p.Input] = true
			if p.IP.IsValid() {
				ip, err := netip.ParseAddr(p.Address)
				if err != nil || ip != p.IP || ip.Is4In6() || ip.Zone() != "" || policy.CheckAddr(ip) != nil {
					t.Fatalf("accepted IP %+v does not round-trip (%v)", p, err)
				}
				continue
			}
			if _, err := netip.ParseAddr(p.Address); err == nil {
				t.Fatalf("hostname %+v parses as an IP", p)
			}
			if name, err := parseHostname(p.Address); err != nil || name != p.Address || len(name) > MaxHostnameLength ||
				strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-.") != "" || strings.HasSuffix(name, ".") {
				t.Fatalf("accepted hostname %+v is not canonical (%v)", p, err)
			}
		}
		for _, s := range skipped {
			if s.Reason == "" {
				t.Fatalf("skipped %q without a reason", s.Input)
			}
			inputs[s.Input] = true
		}
		for _, item := range items {
			if !inputs[item] {
				t.Fatalf("item %q neither accepted nor skipped", item)
			}
		}
	})
}
