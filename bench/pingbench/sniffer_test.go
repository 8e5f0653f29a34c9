//go:build linux

package main

import (
	"net/netip"
	"testing"

	"golang.org/x/net/bpf"
)

// TestEchoFilterSamples: the kernel filter passes the echo requests and replies of
// exactly the targets sampled says it does, and nothing else.
func TestEchoFilterSamples(t *testing.T) {
	packet := func(proto, icmpType byte, src, dst netip.Addr) []byte {
		p := make([]byte, 20+8+56)
		p[0], p[9], p[20] = 0x45, proto, icmpType
		s, d := src.As4(), dst.As4()
		copy(p[12:], s[:])
		copy(p[16:], d[:])
		return p
	}
	local := netip.MustParseAddr("127.0.0.1")
	for _, every := range []int{1, 16} {
		insns, err := echoFilter(every)
		if err != nil {
			t.Fatal(err)
		}
		vm, err := bpf.NewVM(insns)
		if err != nil {
			t.Fatal(err)
		}
		passed := 0
		for i := range 1000 {
			target := loopbackAddr(i)
			want := sampled(target, every)
			for _, tc := range []struct {
				name string
				pkt  []byte
				want bool
			}{
				{"request", packet(1, 8, local, target), want},
				{"reply", packet(1, 0, target, local), want},
				{"unreachable", packet(1, 3, target, local), false},
				{"UDP", packet(17, 8, local, target), false},
			} {
				n, err := vm.Run(tc.pkt)
				if err != nil {
					t.Fatal(err)
				}
				if got := n > 0; got != tc.want {
					t.Fatalf("every %d, %s for %s: passed %t, want %t", every, tc.name, target, got, tc.want)
				}
			}
			if want {
				passed++
			}
		}
		if wantN := 1000 / every; passed < wantN*9/10 || passed > wantN*11/10 {
			t.Errorf("every %d: %d of 1000 targets sampled, want about %d", every, passed, wantN)
		}
	}
	if _, err := echoFilter(3); err == nil {
		t.Error("echoFilter(3): no error for a sampling that is not a power of two")
	}
}
