package loopback

import (
	"net/netip"
	"testing"
)

func TestAddress(t *testing.T) {
	for _, tc := range []struct {
		i    int
		want string
	}{
		{0, "127.64.0.1"},
		{253, "127.64.0.254"},
		{254, "127.64.1.1"},
		{254 * 256, "127.65.0.1"},
		{MaxTargets - 1, "127.255.255.254"},
	} {
		if got := Address(tc.i); got != tc.want {
			t.Errorf("address %d = %s, want %s", tc.i, got, tc.want)
		}
	}
	lo := netip.MustParsePrefix("127.0.0.0/8")
	seen := map[string]bool{}
	for i := range 20000 {
		a := Address(i)
		ip, err := netip.ParseAddr(a)
		if err != nil || !lo.Contains(ip) || ip == netip.MustParseAddr("127.0.0.1") {
			t.Fatalf("address %d = %s: not a loopback address other than 127.0.0.1", i, a)
		}
		if seen[a] {
			t.Fatalf("address %d = %s repeats", i, a)
		}
		seen[a] = true
	}
}
