package store

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"pingdeck/internal/ping"
	"pingdeck/internal/probeblock"
)

// Probe results are stored compactly (issue 23): one row per target, location and
// five minutes (UTC-aligned), holding that span's probes encoded by probeblock, plus
// hourly rollups for long windows. A block is written once when its span has closed;
// until then its probes are held in memory (openBlocks), where every read sees them,
// and the bus keeps the messages they came in (the writer acks them once the block is
// committed). A block written again (probes arriving late, or a replay) is merged with
// the stored one, one probe per send time.

// BlockSpan is the time one stored block covers.
const BlockSpan = 5 * time.Minute

const blockSpanUs = int64(BlockSpan / time.Microsecond)

// blockKey names one block: a target's probes from one location over
// [start, start+BlockSpan) (unix µs).
type blockKey struct {
	target, location string
	start            int64
}

func compareBlockKeys(a, b blockKey) int {
	return cmp.Or(cmp.Compare(a.target, b.target), cmp.Compare(a.location, b.location), cmp.Compare(a.start, b.start))
}

// blockStartOf is the start of the block holding a probe sent at us.
func blockStartOf(us int64) int64 { return floorTo(us, blockSpanUs) }

// probeOf is r as a block keeps it.
func probeOf(r *ping.Result) probeblock.Probe {
	p := probeblock.Probe{SentUs: r.SentAt.UnixMicro()}
	switch code := unsentCode(r); {
	case code != unsentNone:
		p.Status = probeblock.Unsent + probeblock.Status(code-unsentNoSuchHost)
	case !r.OK:
		p.Status = probeblock.Lost
	default:
		p.RTTUs = r.RTT.Microseconds()
	}
	return p
}

// outcomeOf is p's outcome as the report sums it: its RTT in µs, lostUs or notSentUs.
func outcomeOf(p probeblock.Probe) int64 {
	switch {
	case p.Status == probeblock.Answered:
		return p.RTTUs
	case p.Status == probeblock.Lost:
		return lostUs
	}
	return notSentUs
}

// unsentOf is p's unsent code (unsentNone for a probe that left).
func unsentOf(p probeblock.Probe) int16 {
	if p.Status < probeblock.Unsent {
		return unsentNone
	}
	return unsentNoSuchHost + int16(p.Status-probeblock.Unsent)
}

// blocksOf gathers results into blocks, each sorted with one probe per send time.
func blocksOf(rs []ping.Result) map[blockKey][]probeblock.Probe {
	out := map[blockKey][]probeblock.Probe{}
	for i := range rs {
		p := probeOf(&rs[i])
		k := blockKey{rs[i].TargetID, resultLocation(&rs[i]), blockStartOf(p.SentUs)}
		out[k] = append(out[k], p)
	}
	for k, ps := range out {
		out[k] = probeblock.Sort(ps)
	}
	return out
}

// openBlocks holds the probes of blocks not committed yet: those still filling, and
// those being committed (flushing) until the commit is done. Reads see both.
type openBlocks struct {
	mu       sync.Mutex
	filling  map[blockKey][]probeblock.Probe // unsorted, may repeat a send time
	flushing map[blockKey][]probeblock.Probe // sorted, taken by a commit under way
	probes   int                             // in filling
	newest   map[string]int64                // per location, the latest send time held (unix µs)
	lastAdd  map[string]int64                // per location, when results from it were last held (unix µs)
}

func newOpenBlocks() *openBlocks {
	return &openBlocks{filling: map[blockKey][]probeblock.Probe{}, flushing: map[blockKey][]probeblock.Probe{}, newest: map[string]int64{}, lastAdd: map[string]int64{}}
}

// add holds rs and returns the end (unix µs) of the latest block they went into.
func (o *openBlocks) add(rs []ping.Result) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var end int64
	now := time.Now().UnixMicro()
	for i := range rs {
		p := probeOf(&rs[i])
		k := blockKey{rs[i].TargetID, resultLocation(&rs[i]), blockStartOf(p.SentUs)}
		o.filling[k] = append(o.filling[k], p)
		end = max(end, k.start+blockSpanUs)
		o.newest[k.location] = max(o.newest[k.location], p.SentUs)
		o.lastAdd[k.location] = now
	}
	o.probes += len(rs)
	return end
}

// take moves the blocks that have closed by now (all with now < 0) to flushing and
// returns them, sorted, in key order. A block has closed when grace has passed since
// its end, both on the clock and in the results held from its location (a location
// sending results of the past — a writer catching up, an agent emptying its buffer —
// closes each block once it has sent past it, so that each is written once, whole), or
// when its location has sent nothing for quietAfter (it stopped).
func (o *openBlocks) take(now, grace int64) ([]blockKey, map[blockKey][]probeblock.Probe) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var keys []blockKey
	taken := map[blockKey][]probeblock.Probe{}
	for k, ps := range o.filling {
		if end := k.start + blockSpanUs; now >= 0 && (end+grace > now || (end+grace > o.newest[k.location] && o.lastAdd[k.location]+quietAfterUs > now)) {
			continue
		}
		if _, busy := o.flushing[k]; busy {
			continue // the commit under way takes it next time
		}
		o.flushing[k] = probeblock.Sort(ps)
		taken[k] = o.flushing[k]
		delete(o.filling, k)
		o.probes -= len(ps)
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareBlockKeys)
	return keys, taken
}

// done ends the commit of keys: they are stored, or (failed) go back to filling.
func (o *openBlocks) done(keys []blockKey, stored bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, k := range keys {
		if !stored {
			o.filling[k] = append(o.filling[k], o.flushing[k]...)
			o.probes += len(o.flushing[k])
		}
		delete(o.flushing, k)
	}
}

// quietAfterUs is how long a location may send nothing before its open blocks are
// committed as they are.
const quietAfterUs = int64(time.Minute / time.Microsecond)

// heldFrom is the end of the oldest block held (0 with none): every block that ended
// before it is stored.
func (o *openBlocks) heldFrom() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var oldest int64
	for _, m := range []map[blockKey][]probeblock.Probe{o.flushing, o.filling} {
		for k := range m {
			if end := k.start + blockSpanUs; oldest == 0 || end < oldest {
				oldest = end
			}
		}
	}
	return oldest
}

// count is how many probes are held.
func (o *openBlocks) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.probes
	for _, ps := range o.flushing {
		n += len(ps)
	}
	return n
}

// snapshot copies the held probes of targets from locations sent in one of spans, per
// block, sorted with one probe per send time. locations nil means every location.
func (o *openBlocks) snapshot(targets, locations []string, spans []span) map[blockKey][]probeblock.Probe {
	want := make(map[string]bool, len(targets))
	for _, t := range targets {
		want[t] = true
	}
	from := make(map[string]bool, len(locations))
	for _, l := range locations {
		from[l] = true
	}
	in := func(k blockKey) bool {
		if !want[k.target] || (locations != nil && !from[k.location]) {
			return false
		}
		for _, sp := range spans {
			if k.start < sp.hi && k.start+blockSpanUs > sp.lo {
				return true
			}
		}
		return false
	}
	out := map[blockKey][]probeblock.Probe{}
	o.mu.Lock()
	for _, m := range []map[blockKey][]probeblock.Probe{o.flushing, o.filling} {
		for k, ps := range m {
			if !in(k) {
				continue
			}
			for _, p := range ps { // only the probes asked for: a short window copies little
				for _, sp := range spans {
					if sp.has(p.SentUs) {
						out[k] = append(out[k], p)
						break
					}
				}
			}
		}
	}
	o.mu.Unlock()
	for k, ps := range out {
		out[k] = probeblock.Sort(ps)
	}
	return out
}

func sortBlockKeys(keys []blockKey) { slices.SortFunc(keys, compareBlockKeys) }

// locations lists the locations of the held blocks.
func (o *openBlocks) locations() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, m := range []map[blockKey][]probeblock.Probe{o.flushing, o.filling} {
		for k := range m {
			if !slices.Contains(out, k.location) {
				out = append(out, k.location)
			}
		}
	}
	return out
}
