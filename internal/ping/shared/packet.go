package shared

import "encoding/binary"

// The shared engine's echo request: an 8-byte ICMP echo header, then a payload of
// Target.Size bytes that starts with a stamp telling which probe it is, then zeros.
// A reply is credited only when its stamp names a probe still waiting, sent to the
// address the reply came from, with the same ICMP sequence and send time.
const (
	sharedEchoHeaderLen = 8
	sharedStampLen      = 24 // cookie, slot, generation, sequence, send time
	sharedPayloadMin    = sharedStampLen
	// sharedPayloadMax keeps an IPv4 echo under the 65,535-byte datagram limit.
	sharedPayloadMax = 65000
)

// ICMP message types the engine sends and accepts.
const (
	sharedICMP4Request = 8
	sharedICMP4Reply   = 0
	sharedICMP6Request = 128
	sharedICMP6Reply   = 129
)

// sharedStamp identifies one probe inside its echo payload.
type sharedStamp struct {
	cookie uint32 // random per engine: replies to other programs' probes do not match
	slot   uint32 // index of the target's slot
	gen    uint32 // the slot's generation: a reused slot does not match old replies
	seq    uint32 // the target's probe counter
	sentNs int64  // send time, Unix nanoseconds
}

func (s sharedStamp) put(b []byte) {
	binary.BigEndian.PutUint32(b[0:], s.cookie)
	binary.BigEndian.PutUint32(b[4:], s.slot)
	binary.BigEndian.PutUint32(b[8:], s.gen)
	binary.BigEndian.PutUint32(b[12:], s.seq)
	binary.BigEndian.PutUint64(b[16:], uint64(s.sentNs))
}

func readSharedStamp(b []byte) sharedStamp {
	return sharedStamp{
		cookie: binary.BigEndian.Uint32(b[0:]),
		slot:   binary.BigEndian.Uint32(b[4:]),
		gen:    binary.BigEndian.Uint32(b[8:]),
		seq:    binary.BigEndian.Uint32(b[12:]),
		sentNs: int64(binary.BigEndian.Uint64(b[16:])),
	}
}

// buildSharedEcho writes an echo request with a payload of size bytes into buf and
// returns the message. buf must hold the header plus sharedPayloadMax bytes and be
// zero past the stamp (only this function writes it): zeros add nothing to the
// checksum, so it is summed over the header and stamp alone, whatever the size. IPv4
// carries its checksum; for ICMPv6 the kernel computes it (it covers the IPv6
// pseudo-header).
func buildSharedEcho(buf []byte, v6 bool, id, icmpSeq uint16, st sharedStamp, size int) []byte {
	msg := buf[:sharedEchoHeaderLen+size]
	msg[0], msg[1] = sharedICMP4Request, 0
	if v6 {
		msg[0] = sharedICMP6Request
	}
	binary.BigEndian.PutUint16(msg[2:], 0)
	binary.BigEndian.PutUint16(msg[4:], id)
	binary.BigEndian.PutUint16(msg[6:], icmpSeq)
	st.put(msg[sharedEchoHeaderLen:])
	if !v6 {
		binary.BigEndian.PutUint16(msg[2:], sharedChecksum(msg[:sharedEchoHeaderLen+sharedStampLen]))
	}
	return msg
}

// sharedEcho is a parsed echo reply.
type sharedEcho struct {
	typ, code uint8
	id, seq   uint16
	payload   []byte
}

func parseSharedEcho(msg []byte) (sharedEcho, bool) {
	if len(msg) < sharedEchoHeaderLen {
		return sharedEcho{}, false
	}
	return sharedEcho{
		typ:     msg[0],
		code:    msg[1],
		id:      binary.BigEndian.Uint16(msg[4:]),
		seq:     binary.BigEndian.Uint16(msg[6:]),
		payload: msg[sharedEchoHeaderLen:],
	}, true
}

// sharedChecksum is the Internet checksum (RFC 1071) of b.
func sharedChecksum(b []byte) uint16 {
	var sum uint32
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// sharedBatch is how many messages one read of the socket can return (recvmmsg on Linux).
const sharedBatch = 64
