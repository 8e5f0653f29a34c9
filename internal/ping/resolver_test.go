package ping_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"pingdeck/internal/groups"
	"pingdeck/internal/ping"
)

// A hostname is held to the same rules as a literal IP after it resolves: an answer
// in a block that holds no hosts is never probed, and the reason names the block.
func TestResolvedAddressesAreCheckedLikeLiterals(t *testing.T) {
	tests := []struct {
		name    string
		answer  []string
		want    string // the address picked, or "" for a refusal
		refusal string
	}{
		{"this network", []string{"0.1.2.3"}, "", `0.0.0.0/8 is "this network"`},
		{"reserved", []string{"240.0.0.1"}, "", "240.0.0.0/4 is reserved"},
		{"discard-only", []string{"100::1"}, "", "100::/64 is discard-only"},
		{"mapped this network", []string{"::ffff:0.0.0.9"}, "", "0.0.0.0/8"},
		{"a good answer besides", []string{"0.1.2.3", "240.0.0.1", "2001:db8::7"}, "2001:db8::7", ""},
		{"benchmarking range", []string{"198.18.0.5"}, "198.18.0.5", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ping.NewResolver(groups.TargetPolicy{}, func(context.Context, string) ([]netip.Addr, error) {
				out := make([]netip.Addr, len(tt.answer))
				for i, a := range tt.answer {
					out[i] = netip.MustParseAddr(a)
				}
				return out, nil
			})
			got, err := r.Resolve(context.Background(), "host.example")
			if tt.want != "" {
				if err != nil || got.String() != tt.want {
					t.Fatalf("Resolve = %v, %v; want %s", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.refusal) {
				t.Fatalf("Resolve = %v, %v; want a refusal naming %q", got, err, tt.refusal)
			}
		})
	}
}
