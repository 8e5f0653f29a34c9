package probeblock

import (
	"errors"
	"math/bits"
)

// errCorrupt is returned for bytes that are not a block this package wrote.
var errCorrupt = errors.New("probeblock: corrupt block")

// bitWriter appends bits to a byte slice, most significant bit first.
type bitWriter struct {
	buf  []byte
	acc  uint64 // pending bits, right-aligned
	nacc uint   // how many
}

// write appends the low n bits of v (n ≤ 56).
func (w *bitWriter) write(v uint64, n uint) {
	w.acc = w.acc<<n | v&(1<<n-1)
	w.nacc += n
	for w.nacc >= 8 {
		w.nacc -= 8
		w.buf = append(w.buf, byte(w.acc>>w.nacc))
	}
}

// bytes flushes the last partial byte (zero-padded) and returns the buffer.
func (w *bitWriter) bytes() []byte {
	if w.nacc > 0 {
		w.buf = append(w.buf, byte(w.acc<<(8-w.nacc)))
		w.nacc = 0
	}
	return w.buf
}

// bitReader reads what a bitWriter wrote. Its accumulator is left-aligned: the next
// bit is the top one.
type bitReader struct {
	buf  []byte
	pos  int // next byte of buf
	acc  uint64
	nacc uint // valid bits at the top of acc
}

// refill loads whole bytes while they fit.
func (r *bitReader) refill() {
	for r.nacc <= 56 && r.pos < len(r.buf) {
		r.acc |= uint64(r.buf[r.pos]) << (56 - r.nacc)
		r.pos++
		r.nacc += 8
	}
}

// read returns the next n bits (n ≤ 56).
func (r *bitReader) read(n uint) (uint64, error) {
	if r.nacc < n {
		r.refill()
		if r.nacc < n {
			return 0, errCorrupt
		}
	}
	v := r.acc >> (64 - n) // 0 for n == 0
	r.acc <<= n
	r.nacc -= n
	return v, nil
}

// escapeAt is the longest unary quotient a Rice code writes; a value whose quotient
// would be longer is written after escapeAt ones as its bit length (6 bits) and bits.
const escapeAt = 8

// writeRice writes v as a Rice code with parameter k: v>>k in unary, then k low bits.
func (w *bitWriter) writeRice(v uint64, k uint) {
	q := v >> k
	if q >= escapeAt {
		w.write(1<<escapeAt-1, escapeAt)
		n := uint(bitLen(v))
		w.write(uint64(n), 6)
		for n > 48 { // write in two parts: write takes at most 56 bits
			w.write(v>>(n-48), 48)
			v &= 1<<(n-48) - 1
			n -= 48
		}
		w.write(v, n)
		return
	}
	w.write(1<<q-1, uint(q))
	w.write(0, 1)
	w.write(v, k)
}

// readRice reads what writeRice wrote with parameter k.
func (r *bitReader) readRice(k uint) (uint64, error) {
	if r.nacc <= escapeAt {
		r.refill()
	}
	q := min(uint(bits.LeadingZeros64(^r.acc)), r.nacc) // the unary part: ones up to a zero
	if q < escapeAt {
		if q == r.nacc {
			return 0, errCorrupt // no zero ends it
		}
		r.acc <<= q + 1
		r.nacc -= q + 1
		low, err := r.read(k)
		return uint64(q)<<k | low, err
	}
	if _, err := r.read(escapeAt); err != nil {
		return 0, err
	}
	n, err := r.read(6)
	if err != nil {
		return 0, err
	}
	var v uint64
	for n > 48 {
		part, err := r.read(48)
		if err != nil {
			return 0, err
		}
		v = v<<48 | part
		n -= 48
	}
	low, err := r.read(uint(n))
	return v<<n | low, err
}

// riceCost is the bits writeRice spends on v with parameter k.
func riceCost(v uint64, k uint) int {
	if q := v >> k; q < escapeAt {
		return int(q) + 1 + int(k)
	}
	return escapeAt + 6 + bitLen(v)
}

// bestK is the Rice parameter that spends the fewest bits on vs.
func bestK(vs []uint64) uint {
	best, bestCost := uint(0), -1
	for k := uint(0); k < 40; k++ {
		cost := 0
		for _, v := range vs {
			cost += riceCost(v, k)
		}
		if bestCost < 0 || cost < bestCost {
			best, bestCost = k, cost
		}
	}
	return best
}

func bitLen(v uint64) int {
	n := 0
	for v != 0 {
		v >>= 1
		n++
	}
	return n
}

// zigzag maps signed to unsigned so that small magnitudes stay small.
func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }
