//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Ring geometry: 64 blocks of 1 MiB. Each packet takes about 150 bytes of a block
// (header plus a 64-byte snapshot), so the ring holds ~10 s of 20,000 targets' traffic
// (40,000 packets/s): a slow moment in the reader loses nothing.
const (
	sniffBlockSize  = 1 << 20
	sniffBlocks     = 64
	sniffFrameSize  = 2048 // required by the API, unused by TPACKET_V3
	sniffSnapLen    = 64   // IPv4 header (options included) and the ICMP echo header
	sniffRetireMs   = 10   // a partly filled block is handed over after this long
	sniffPendingTTL = 5 * time.Second
)

// echoKey identifies one echo exchange: the target address, ICMP id and sequence.
type echoKey struct {
	addr    [4]byte
	id, seq uint16
}

// echoPair is one answered request: when the kernel saw the request and the reply.
type echoPair struct {
	request, reply int64 // kernel timestamps, Unix ns
}

// sniffer records the kernel timestamps of ICMP echo requests to, and replies from,
// the benchmark's loopback addresses, as they cross lo. Reply minus request time is
// the reference RTT an engine's own RTT is compared with. It uses an AF_PACKET
// socket with a TPACKET_V3 ring: no system call per packet, and drops are counted
// by the kernel (PACKET_STATISTICS) rather than lost silently.
type sniffer struct {
	fd     int
	ring   []byte
	lo, hi [4]byte // address range of the targets, inclusive
	every  int     // the sample (see sampled)

	// Owned by run until it returns.
	pending   map[echoKey]int64
	pairs     []echoPair
	orphans   []int64 // requests never answered (within sniffPendingTTL)
	lastSweep int64
	replies   int64
	unmatched int64 // replies without a request seen
}

// openSniffer starts capturing on lo the echo traffic of addresses lo…hi, of one
// address in every (see sampled; 1 for all).
func openSniffer(lo, hi netip.Addr, every int) (s *sniffer, err error) {
	ifi, err := net.InterfaceByName("lo")
	if err != nil {
		return nil, fmt.Errorf("sniffer: %w", err)
	}
	// Protocol 0: receive nothing until bound, after the filter is in place.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sniffer: open AF_PACKET socket (needs CAP_NET_RAW): %w", err)
	}
	s = &sniffer{fd: fd, lo: lo.As4(), hi: hi.As4(), every: every, pending: map[echoKey]int64{}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := attachEchoFilter(fd, every); err != nil {
		return nil, err
	}
	// Turns on kernel receive timestamps (taken when lo queues the packet), which
	// the ring then carries.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return nil, fmt.Errorf("sniffer: SO_TIMESTAMPNS: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, fmt.Errorf("sniffer: TPACKET_V3: %w", err)
	}
	req := unix.TpacketReq3{
		Block_size:     sniffBlockSize,
		Block_nr:       sniffBlocks,
		Frame_size:     sniffFrameSize,
		Frame_nr:       sniffBlockSize / sniffFrameSize * sniffBlocks,
		Retire_blk_tov: sniffRetireMs,
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("sniffer: PACKET_RX_RING: %w", err)
	}
	s.ring, err = unix.Mmap(fd, 0, sniffBlockSize*sniffBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("sniffer: mmap ring: %w", err)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi.Index}
	if err := unix.Bind(fd, sa); err != nil {
		return nil, fmt.Errorf("sniffer: bind to lo: %w", err)
	}
	return s, nil
}

// attachEchoFilter lets through only unfragmented ICMP echo requests and replies
// of the sampled addresses (see sampled), cut to sniffSnapLen bytes. A SOCK_DGRAM
// packet socket's data starts at the IP header. The filter runs in the kernel on
// every packet crossing lo, in the context of the process that sent it, so it is
// billed to the engine under test; a packet it refuses costs a few instructions, one
// it accepts a copy into the ring. Sampling keeps that copy off most probes.
func attachEchoFilter(fd, every int) error {
	insns, err := echoFilter(every)
	if err != nil {
		return err
	}
	prog, err := bpf.Assemble(insns)
	if err != nil {
		return fmt.Errorf("sniffer: assemble filter: %w", err)
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fmt.Errorf("sniffer: attach filter: %w", err)
	}
	return nil
}

// echoFilter is attachEchoFilter's program.
func echoFilter(every int) ([]bpf.Instruction, error) {
	if every < 1 || every > 128 || every&(every-1) != 0 {
		return nil, fmt.Errorf("sniffer: sampling one address in %d: want a power of two from 1 to 128", every)
	}
	mask := uint32(every - 1)
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: 9, Size: 1}, // IP protocol
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.IPPROTO_ICMP, SkipTrue: 6},
		bpf.LoadAbsolute{Off: 6, Size: 2}, // flags and fragment offset
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipTrue: 4},
		bpf.LoadMemShift{Off: 0},                             // X = IP header length
		bpf.LoadIndirect{Off: 0, Size: 1},                    // ICMP type
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipTrue: 2}, // echo reply
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 8, SkipTrue: 3}, // echo request
		bpf.RetConstant{Val: 0},
		bpf.LoadAbsolute{Off: 15, Size: 1}, // reply: the target is the source; its last byte
		bpf.Jump{Skip: 1},
		bpf.LoadAbsolute{Off: 19, Size: 1}, // request: the target is the destination
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 1 & mask, SkipTrue: 1},
		bpf.RetConstant{Val: 0},
		bpf.RetConstant{Val: sniffSnapLen},
	}, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// run reads the ring until ctx ends, then returns once it has drained what the
// kernel had handed over.
func (s *sniffer) run(ctx context.Context) {
	pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN | unix.POLLERR}}
	for block := 0; ; {
		base := block * sniffBlockSize
		status := (*uint32)(unsafe.Pointer(&s.ring[base+8])) // tpacket_hdr_v1.block_status
		if atomic.LoadUint32(status)&unix.TP_STATUS_USER == 0 {
			if ctx.Err() != nil {
				return
			}
			_, _ = unix.Poll(pfd, 50) // EINTR and timeouts just loop
			continue
		}
		s.readBlock(s.ring[base : base+sniffBlockSize])
		atomic.StoreUint32(status, unix.TP_STATUS_KERNEL)
		block = (block + 1) % sniffBlocks
	}
}

// readBlock handles every packet of one retired block.
func (s *sniffer) readBlock(b []byte) {
	ne := binary.NativeEndian
	num := ne.Uint32(b[12:])      // num_pkts
	off := int(ne.Uint32(b[16:])) // offset_to_first_pkt
	for range num {
		if off <= 0 || off+unix.SizeofTpacket3Hdr > len(b) {
			return
		}
		h := b[off:]
		ts := int64(ne.Uint32(h[4:]))*1e9 + int64(ne.Uint32(h[8:])) // tp_sec, tp_nsec
		snap := int(ne.Uint32(h[12:]))
		netOff := int(ne.Uint16(h[26:])) // tp_net
		if netOff+snap <= len(h) {
			s.handle(ts, h[netOff:netOff+snap])
		}
		off += int(ne.Uint32(h[0:])) // tp_next_offset
	}
}

// handle records one IPv4 ICMP echo request or reply seen at kernel time ts.
func (s *sniffer) handle(ts int64, pkt []byte) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		return
	}
	ihl := int(pkt[0]&0x0f) * 4
	if len(pkt) < ihl+8 {
		return
	}
	icmp := pkt[ihl:]
	id, seq := binary.BigEndian.Uint16(icmp[4:]), binary.BigEndian.Uint16(icmp[6:])
	switch icmp[0] {
	case 8: // request, to the target
		k := echoKey{addr: [4]byte(pkt[16:20]), id: id, seq: seq}
		if s.inRange(k.addr) {
			s.pending[k] = ts
		}
	case 0: // reply, from the target
		k := echoKey{addr: [4]byte(pkt[12:16]), id: id, seq: seq}
		if !s.inRange(k.addr) {
			return
		}
		s.replies++
		if req, ok := s.pending[k]; ok {
			delete(s.pending, k)
			s.pairs = append(s.pairs, echoPair{request: req, reply: ts})
		} else {
			s.unmatched++
		}
	}
	if ts-s.lastSweep > int64(time.Second) {
		s.sweep(ts)
	}
}

func (s *sniffer) inRange(a [4]byte) bool {
	return string(a[:]) >= string(s.lo[:]) && string(a[:]) <= string(s.hi[:])
}

// sweep moves requests unanswered for sniffPendingTTL to the orphans.
func (s *sniffer) sweep(now int64) {
	s.lastSweep = now
	for k, req := range s.pending {
		if now-req > int64(sniffPendingTTL) {
			delete(s.pending, k)
			s.orphans = append(s.orphans, req)
		}
	}
}

// reference is what the sniffer saw of one cell's window.
type reference struct {
	RTT        percentiles // reply minus request, kernel timestamps
	Requests   int64       // echo requests sent in the window
	Unanswered int64       // of those, never seen answered
	Seen       uint32      // packets that reached the ring, dropped ones included (whole cell)
	Dropped    uint32      // packets the ring had no room for (whole cell)
	Every      int         // the sample: one target address in this many
	Err        string      // why there is no reference
}

// sampleNote describes the sample, when it is not every target.
func (r reference) sampleNote() string {
	if r.Every <= 1 {
		return ""
	}
	return fmt.Sprintf(" to its sample (1 address in %d)", r.Every)
}

// trusted says whether the reference saw every packet.
func (r reference) trusted() bool { return r.Err == "" && r.Dropped == 0 && r.Requests > 0 }

// report summarizes the requests the kernel saw in win. Call it after run returned.
func (s *sniffer) report(win window) (reference, error) {
	ref := reference{Every: s.every}
	var hist rttHistogram
	in := func(ns int64) bool { return win.contains(time.Unix(0, ns)) }
	for _, p := range s.pairs {
		if in(p.request) {
			hist.add(time.Duration(p.reply - p.request))
		}
	}
	for _, req := range s.orphans {
		if in(req) {
			ref.Unanswered++
		}
	}
	for _, req := range s.pending {
		if in(req) {
			ref.Unanswered++
		}
	}
	ref.RTT = hist.percentiles()
	ref.Requests = ref.RTT.N + ref.Unanswered
	st, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return ref, fmt.Errorf("sniffer: PACKET_STATISTICS: %w", err)
	}
	ref.Seen, ref.Dropped = st.Packets, st.Drops
	return ref, nil
}

// close releases the ring and the socket.
func (s *sniffer) close() error {
	var errs []error
	if s.ring != nil {
		errs = append(errs, unix.Munmap(s.ring))
		s.ring = nil
	}
	if s.fd >= 0 {
		errs = append(errs, unix.Close(s.fd))
		s.fd = -1
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sniffer: close: %w", err)
	}
	return nil
}
