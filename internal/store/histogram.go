package store

import (
	"encoding/binary"
	"math/bits"
	"sort"
)

// The RTT histogram kept with every 1-minute rollup has a fixed log-linear layout
// (HDR style), so histograms of any minutes and targets merge by adding counts:
//
//   - RTTs below 32 µs each have their own bucket (exact);
//   - from 32 µs up, every power of two [2^e, 2^(e+1)) is cut into 16 equal buckets
//     of width 2^(e-4); the top bucket (index 447) ends at 2^31 µs (~36 min), far
//     above the longest timeout (1 min).
//
// A bucket [L, L+w) is reported as the point x = 2L(L+w)/(2L+w), whose relative
// distance to both ends is w/(2L+w) ≤ 1/33, so a percentile read from the histogram
// is within 3.1 % of the true value at that rank (and clamped to the observed min/max).
const (
	histExact     = 32  // values below this have a bucket each
	histSubBits   = 4   // 16 buckets per power of two
	histBuckets   = 448 // histExact + (31-5)*16
	histMaxExpHit = 30  // highest power of two with buckets
)

// HistogramRelativeError bounds how far a percentile from the histogram is from the
// exact one, relative to the exact value.
const HistogramRelativeError = 1.0 / 33

// histBucket is the bucket index of an RTT in µs.
func histBucket(us int64) int {
	if us < histExact {
		return int(max(us, 0))
	}
	e := bits.Len64(uint64(us)) - 1
	if e > histMaxExpHit {
		return histBuckets - 1
	}
	sub := int(us>>(e-histSubBits)) & (1<<histSubBits - 1)
	return histExact + (e-5)<<histSubBits + sub
}

// histValue is the value (µs) a bucket stands for.
func histValue(b int) float64 {
	if b < histExact {
		return float64(b)
	}
	e := (b-histExact)>>histSubBits + 5
	sub := (b - histExact) & (1<<histSubBits - 1)
	w := float64(int64(1) << (e - histSubBits))
	l := float64(int64(1)<<e) + float64(sub)*w
	return 2 * l * (l + w) / (2*l + w)
}

// histogram counts RTTs per bucket; the zero value is empty.
type histogram map[int]int64

func (h histogram) add(us int64) { h[histBucket(us)]++ }

func (h histogram) merge(o histogram) {
	for b, n := range o {
		h[b] += n
	}
}

// encode is the stored form: (bucket, count) pairs as uvarints, buckets ascending.
// Encodings concatenate: decoding a||b gives the sum of both histograms, which lets
// Postgres merge a rollup row with a plain append.
func (h histogram) encode() []byte {
	keys := make([]int, 0, len(h))
	for b, n := range h {
		if n > 0 {
			keys = append(keys, b)
		}
	}
	sort.Ints(keys)
	out := make([]byte, 0, 3*len(keys))
	for _, b := range keys {
		out = binary.AppendUvarint(out, uint64(b))
		out = binary.AppendUvarint(out, uint64(h[b]))
	}
	return out
}

// decodeInto adds an encoded histogram (or a concatenation of them) to h; malformed
// trailing bytes are ignored.
func (h histogram) decodeInto(p []byte) {
	for len(p) > 0 {
		b, n := binary.Uvarint(p)
		if n <= 0 {
			return
		}
		c, m := binary.Uvarint(p[n:])
		if m <= 0 {
			return
		}
		p = p[n+m:]
		if b < histBuckets {
			h[int(b)] += int64(c)
		}
	}
}

// percentiles returns the nearest-rank percentiles (the value at rank ⌈q·n⌉ of the n
// sorted RTTs) for each q in qs, estimated from the buckets and clamped to [lo, hi].
func (h histogram) percentiles(qs []float64, lo, hi float64) []float64 {
	keys := make([]int, 0, len(h))
	var total int64
	for b, n := range h {
		if n > 0 {
			keys = append(keys, b)
			total += n
		}
	}
	out := make([]float64, len(qs))
	if total == 0 {
		return out
	}
	sort.Ints(keys)
	for i, q := range qs {
		rank := nearestRank(q, total)
		var seen int64
		for _, b := range keys {
			seen += h[b]
			if seen >= rank {
				out[i] = min(max(histValue(b), lo), hi)
				break
			}
		}
	}
	return out
}

// nearestRank is ⌈q·n⌉, at least 1.
func nearestRank(q float64, n int64) int64 {
	r := int64(q * float64(n))
	if float64(r) < q*float64(n) {
		r++
	}
	return max(r, 1)
}
