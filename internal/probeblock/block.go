// Package probeblock encodes the probes of one target and location over one span of
// time into a few bytes each, and back, exactly: send times and RTTs to the
// microsecond, and why a probe failed.
//
// A block is a version byte, a header of varints and one bit stream of Rice codes:
// the send times as offsets from the block's schedule (its usual interval), the probes
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
//
// Send times are coded against the probes' schedule: the usual interval I (the median
// gap) puts probe i in slot n_i (the nearest multiple of I after the first probe), and
// what is coded is its offset from its slot, less the median offset: a prober that
// sends on time costs a few bits a probe, one that is sometimes late costs the
// lateness of those only. Slots skipped (or shared) are listed apart.
func Encode(startUs int64, probes []Probe) []byte {
	n := len(probes)
	out := []byte{version}
	out = binary.AppendUvarint(out, uint64(n))
	if n == 0 {
		return out
	}
	first := probes[0].SentUs
	interval := scheduleInterval(probes)
	offsets := make([]int64, n)
	var skipAt, skipBy []uint64 // probes whose slot is not the one after the previous one's
	lastSkip, lastSlot := 0, int64(0)
	for i, p := range probes {
		slot := (p.SentUs - first + interval/2) / interval
		offsets[i] = p.SentUs - first - slot*interval
		if i > 0 && slot != lastSlot+1 {
			skipAt = append(skipAt, uint64(i-lastSkip))
			skipBy = append(skipBy, uint64(slot-lastSlot))
			lastSkip = i
		}
		lastSlot = slot
	}
	offBase := median(offsets[1:])
	rttBase := int64(-1)
	var gaps, offs, rtts []uint64
	var statuses []Status
	last := -1
	for i, p := range probes {
		if i > 0 {
			offs = append(offs, zigzag(offsets[i]-offBase))
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
	kOff, kGap, kRTT, kSkip := bestK(offs), bestK(gaps), bestK(rtts), bestK(skipAt)
	out = binary.AppendUvarint(out, uint64(first-startUs))
	out = binary.AppendUvarint(out, uint64(interval))
	out = binary.AppendVarint(out, offBase)
	out = binary.AppendUvarint(out, uint64(max(rttBase, 0)))
	out = binary.AppendUvarint(out, uint64(len(gaps)))
	out = binary.AppendUvarint(out, uint64(len(skipAt)))
	out = append(out, byte(kOff), byte(kGap), byte(kRTT), byte(kSkip))
	w := bitWriter{buf: out}
	for i, v := range skipAt {
		w.writeRice(v, kSkip)
		w.writeRice(skipBy[i], 0)
	}
	for _, v := range offs {
		w.writeRice(v, kOff)
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

// median is the middle value of vs (0 for none).
func median(vs []int64) int64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	return s[len(s)/2]
}

// scheduleInterval is the interval of the schedule the probes were sent on: the median
// gap puts each probe in a slot, and the median of (time since the first probe / slot)
// over the later half of the probes refines it to the microsecond, so that the slots
// do not drift from the sends across the block.
func scheduleInterval(probes []Probe) int64 {
	rough := max(usualInterval(probes), 1)
	first := probes[0].SentUs
	var est []int64
	for _, p := range probes[len(probes)/2:] {
		d := p.SentUs - first
		if slot := (d + rough/2) / rough; slot > 0 {
			est = append(est, (d+slot/2)/slot)
		}
	}
	if len(est) == 0 {
		return rough
	}
	return max(median(est), 1)
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
	bad := false
	uv := func() uint64 {
		v, k := binary.Uvarint(rest)
		if k <= 0 {
			bad = true
			return 0
		}
		rest = rest[k:]
		return v
	}
	n := int(uv())
	switch {
	case bad || n < 0 || n > 8*len(rest)+1: // every probe after the first costs a bit at least
		return dst, errCorrupt
	case n == 0:
		return dst, nil
	}
	first := startUs + int64(uv())
	interval := int64(uv())
	offBase, k := binary.Varint(rest)
	if bad || k <= 0 {
		return dst, errCorrupt
	}
	rest = rest[k:]
	rttBase := int64(uv())
	failed, skips := int(uv()), int(uv())
	if bad || len(rest) < 4 || failed < 0 || failed > n || skips < 0 || skips > n {
		return dst, errCorrupt
	}
	kOff, kGap, kRTT, kSkip := uint(rest[0]), uint(rest[1]), uint(rest[2]), uint(rest[3])
	if kOff >= 40 || kGap >= 40 || kRTT >= 40 || kSkip >= 40 {
		return dst, errCorrupt
	}
	r := bitReader{buf: rest[4:]}
	base := len(dst)
	// The probes whose slot is not the one after the previous probe's, in order.
	type skip struct {
		at   int
		step int64
	}
	var skipped []skip
	at := 0
	for range skips {
		d, err := r.readRice(kSkip)
		if err != nil {
			return dst[:base], err
		}
		by, err := r.readRice(0)
		if err != nil {
			return dst[:base], err
		}
		if d == 0 || d >= uint64(n) {
			return dst[:base], errCorrupt
		}
		at += int(d)
		if at >= n {
			return dst[:base], errCorrupt
		}
		skipped = append(skipped, skip{at, int64(by)})
	}
	dst = slices.Grow(dst, n)
	slot := int64(0)
	for i := range n {
		sent := first
		if i > 0 {
			v, err := r.readRice(kOff)
			if err != nil {
				return dst[:base], err
			}
			step := int64(1)
			if len(skipped) > 0 && skipped[0].at == i {
				step, skipped = skipped[0].step, skipped[1:]
			}
			slot += step
			sent = first + slot*interval + offBase + unzigzag(v)
		}
		dst = append(dst, Probe{SentUs: sent})
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
		if gap >= uint64(n) {
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
