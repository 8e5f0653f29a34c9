// Package probeblock encodes the probes of one target and location over one span of
// time into a few bytes each, and back, exactly: send times and RTTs to the
// microsecond, and why a probe failed.
//
// A block is a version byte, a header of uvarints and one bit stream of Rice codes:
// the send times as their differences from the block's usual interval, the probes
// that were not answered as (distance from the previous one, status), and the RTTs of
// the answered ones above the block's smallest. Each stream's Rice parameter is the one
// that spends the fewest bits on it, so a steady target costs about the entropy of its
// jitter.
package probeblock

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// Status is what became of a probe.
type Status uint8

const (
	Answered Status = iota
	Lost            // sent, no answer in time
	// Unsent is the first of four codes (Unsent+0 … Unsent+3) of probes that never
	// left, in the store's order: no such host, no address, send failed, other.
	Unsent
)

// maxStatus is the largest Status a block holds.
const maxStatus = Unsent + 3

// Probe is one probe as a block keeps it.
type Probe struct {
	SentUs int64 // unix µs
	RTTUs  int64 // answered only
	Status Status
}

const version = 1

// Encode returns the block of probes sent at or after startUs. probes must be sorted by
// SentUs with no two at the same time (Merge makes them so).
func Encode(startUs int64, probes []Probe) []byte {
	n := len(probes)
	out := []byte{version}
	out = binary.AppendUvarint(out, uint64(n))
	if n == 0 {
		return out
	}
	interval := usualInterval(probes)
	rttBase := int64(-1)
	var gaps, steps, rtts []uint64
	var statuses []Status
	last := -1
	for i, p := range probes {
		if i > 0 {
			steps = append(steps, zigzag(p.SentUs-probes[i-1].SentUs-interval))
		}
		if p.Status != Answered {
			gaps = append(gaps, uint64(i-last-1))
			statuses = append(statuses, p.Status)
			last = i
		} else if rttBase < 0 || p.RTTUs < rttBase {
			rttBase = p.RTTUs
		}
	}
	for _, p := range probes {
		if p.Status == Answered {
			rtts = append(rtts, uint64(p.RTTUs-rttBase))
		}
	}
	kStep, kGap, kRTT := bestK(steps), bestK(gaps), bestK(rtts)
	out = binary.AppendUvarint(out, uint64(probes[0].SentUs-startUs))
	out = binary.AppendVarint(out, interval)
	out = binary.AppendUvarint(out, uint64(max(rttBase, 0)))
	out = binary.AppendUvarint(out, uint64(len(gaps)))
	out = append(out, byte(kStep), byte(kGap), byte(kRTT))
	w := bitWriter{buf: out}
	for _, v := range steps {
		w.writeRice(v, kStep)
	}
	for i, v := range gaps {
		w.writeRice(v, kGap)
		w.write(uint64(statuses[i]-Lost), 3)
	}
	for _, v := range rtts {
		w.writeRice(v, kRTT)
	}
	return w.bytes()
}

// usualInterval is the median gap between consecutive probes (0 for one probe).
func usualInterval(probes []Probe) int64 {
	if len(probes) < 2 {
		return 0
	}
	d := make([]int64, len(probes)-1)
	for i := range d {
		d[i] = probes[i+1].SentUs - probes[i].SentUs
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// Decode appends the probes of block (started at startUs) to dst, oldest first.
func Decode(dst []Probe, startUs int64, block []byte) ([]Probe, error) {
	if len(block) == 0 || block[0] != version {
		return dst, errCorrupt
	}
	rest := block[1:]
	uv := func() uint64 {
		v, k := binary.Uvarint(rest)
		if k <= 0 {
			rest = nil
			return 0
		}
		rest = rest[k:]
		return v
	}
	n := int(uv())
	switch {
	case rest == nil || n > 8*len(rest)+1: // every probe after the first costs a bit at least
		return dst, errCorrupt
	case n == 0:
		return dst, nil
	}
	first := int64(uv())
	interval, k := binary.Varint(rest)
	if k <= 0 {
		return dst, errCorrupt
	}
	rest = rest[k:]
	rttBase := int64(uv())
	failed := int(uv())
	if rest == nil || len(rest) < 3 || failed > n {
		return dst, errCorrupt
	}
	kStep, kGap, kRTT := uint(rest[0]), uint(rest[1]), uint(rest[2])
	if kStep >= 40 || kGap >= 40 || kRTT >= 40 {
		return dst, errCorrupt
	}
	r := bitReader{buf: rest[3:]}
	base := len(dst)
	dst = slices.Grow(dst, n)
	at := startUs + first
	for i := range n {
		if i > 0 {
			v, err := r.readRice(kStep)
			if err != nil {
				return dst[:base], err
			}
			at += interval + unzigzag(v)
		}
		dst = append(dst, Probe{SentUs: at})
	}
	probes := dst[base:]
	idx := -1
	for range failed {
		gap, err := r.readRice(kGap)
		if err != nil {
			return dst[:base], err
		}
		st, err := r.read(3)
		if err != nil {
			return dst[:base], err
		}
		if Lost+Status(st) > maxStatus {
			return dst[:base], errCorrupt
		}
		idx += int(gap) + 1
		if idx >= n {
			return dst[:base], errCorrupt
		}
		probes[idx].Status = Lost + Status(st)
	}
	for i := range probes {
		if probes[i].Status != Answered {
			continue
		}
		v, err := r.readRice(kRTT)
		if err != nil {
			return dst[:base], err
		}
		probes[i].RTTUs = rttBase + int64(v)
	}
	return dst, nil
}

// Merge returns the probes of a and b sorted by send time, one per send time: where both
// hold a probe sent at the same time, a's is kept. a and b must each be sorted.
func Merge(a, b []Probe) []Probe {
	out := make([]Probe, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].SentUs < b[j].SentUs):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].SentUs < a[i].SentUs:
			out = append(out, b[j])
			j++
		default: // the same send time
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// Sort sorts probes by send time and keeps the first of any sent at the same time.
func Sort(probes []Probe) []Probe {
	slices.SortStableFunc(probes, func(x, y Probe) int { return cmp.Compare(x.SentUs, y.SentUs) })
	return slices.CompactFunc(probes, func(x, y Probe) bool { return x.SentUs == y.SentUs })
}
