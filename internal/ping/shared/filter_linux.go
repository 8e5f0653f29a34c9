//go:build linux

package shared

import (
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// sharedEchoFilter is the classic BPF program for a raw ICMP socket that passes only
// echo replies carrying our identifier, so the socket is not woken for every other
// ICMP message the host receives (each raw socket gets a copy of all of them).
// IPv4 raw sockets see the IP header first, so the ICMP header is found at the
// header length (IHL*4); IPv6 raw sockets see the ICMPv6 header at offset 0.
func sharedEchoFilter(v6 bool, id uint16) (*unix.SockFprog, error) {
	const accept, drop = 0x40000, 0
	var prog []bpf.Instruction
	if v6 {
		prog = []bpf.Instruction{
			bpf.LoadAbsolute{Off: 0, Size: 1}, // ICMPv6 type
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: sharedICMP6Reply, SkipFalse: 3},
			bpf.LoadAbsolute{Off: 4, Size: 2}, // identifier
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(id), SkipFalse: 1},
			bpf.RetConstant{Val: accept},
			bpf.RetConstant{Val: drop},
		}
	} else {
		prog = []bpf.Instruction{
			bpf.LoadMemShift{Off: 0},          // X = IP header length
			bpf.LoadIndirect{Off: 0, Size: 1}, // ICMP type
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: sharedICMP4Reply, SkipFalse: 3},
			bpf.LoadIndirect{Off: 4, Size: 2}, // identifier
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(id), SkipFalse: 1},
			bpf.RetConstant{Val: accept},
			bpf.RetConstant{Val: drop},
		}
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("assemble BPF filter: %w", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	return &unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}, nil
}
