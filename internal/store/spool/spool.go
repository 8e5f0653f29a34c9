// Package spool keeps batches of probe results on disk while the database is away,
// so that neither a long outage nor a crash during one loses them.
//
// A spool is a directory of append-only segment files (NNNNNNNNNNNNNNNNNNNN.seg),
// oldest first. Each record in a segment is one batch, framed so that it can be found
// again past damage (segment.go has the format).
//
// Records are taken oldest first and acknowledged once written to the database; a
// segment is deleted when every record in it is acknowledged. Acknowledgements live in
// memory only, so after a crash a partly written segment is taken again from its
// start: the consumer must tolerate writing a batch twice (the result writer does).
// A damaged record (a flipped bit, a write cut short by a crash) is skipped and the
// reading goes on at the next intact one; every skip is reported by Corruptions.
package spool

import (
	"cmp"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"pingdeck/internal/ping"
)

const (
	suffix = ".seg"
	// maxRecord bounds one record's payload; a longer length is a torn or foreign file.
	maxRecord = 64 << 20
	// defaultSegmentBytes is where a segment is closed and the next one started.
	defaultSegmentBytes = 8 << 20
)

// Spool is safe for use by several goroutines.
type Spool struct {
	dir          string
	maxBytes     int64
	segmentBytes int64

	mu      sync.Mutex
	segs    []*segment // oldest first
	w       *os.File   // the newest segment, open for appending; nil until the first Append
	bytes   int64      // on disk, all segments
	results int64      // in records not yet acknowledged
	// corrupt is the damage found and not yet collected by Corruptions; bounded by
	// maxCorruptions, past which the oldest reports are merged away.
	corrupt []Corruption
}

// maxCorruptions bounds the damage reports kept between two Corruptions calls.
const maxCorruptions = 1000

type segment struct {
	seq     uint64
	size    int64
	records []record
	live    int // records not yet acknowledged
}

type record struct {
	off     int64 // of the payload
	length  int32
	results int32
	sum     uint32 // CRC-32C of the payload
	state   recordState
}

type recordState uint8

const (
	waiting recordState = iota
	taken
	done
)

// Token names a taken record, for Ack or Release.
type Token struct {
	seq uint64
	idx int
}

// Open opens (creating it if needed) the spool in dir, which holds at most maxBytes;
// records already there from an earlier run are taken first.
func Open(dir string, maxBytes int64) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, maxBytes: maxBytes, segmentBytes: min(defaultSegmentBytes, max(maxBytes/4, 1))}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, e := range entries {
		seq, ok := parseName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		seg, damage, err := s.scan(seq)
		if err != nil {
			return nil, err
		}
		s.reportCorrupt(damage...)
		if seg.live == 0 {
			if err := os.Remove(s.path(seq)); err != nil {
				return nil, fmt.Errorf("spool: %w", err)
			}
			continue
		}
		s.segs = append(s.segs, seg)
		s.bytes += seg.size
		for _, r := range seg.records {
			s.results += int64(r.results)
		}
	}
	slices.SortFunc(s.segs, func(a, b *segment) int { return cmp.Compare(a.seq, b.seq) })
	return s, nil
}

func parseName(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, suffix)
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseUint(base, 10, 64)
	return seq, err == nil
}

func (s *Spool) path(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, suffix))
}

// scan indexes a segment's intact records, skipping damaged ones (reported). It reads
// the segment whole: segments are closed at segmentBytes (8 MiB), so that is their size
// but for one record past it.
func (s *Spool) scan(seq uint64) (*segment, []Corruption, error) {
	data, err := os.ReadFile(s.path(seq))
	if err != nil {
		return nil, nil, fmt.Errorf("spool: %w", err)
	}
	recs, damage := index(s.path(seq), data)
	return &segment{seq: seq, size: int64(len(data)), records: recs, live: len(recs)}, damage, nil
}

// reportCorrupt keeps damage reports for Corruptions, within maxCorruptions.
func (s *Spool) reportCorrupt(cs ...Corruption) {
	s.corrupt = append(s.corrupt, cs...)
	if over := len(s.corrupt) - maxCorruptions; over > 0 {
		first := s.corrupt[0]
		first.Reason = fmt.Sprintf("%s (and %d more reports merged into this one)", first.Reason, over)
		for _, c := range s.corrupt[1 : over+1] {
			first.Bytes += c.Bytes
			first.Results += c.Results
			first.ResultsKnown = first.ResultsKnown && c.ResultsKnown
		}
		s.corrupt = append([]Corruption{first}, s.corrupt[over+1:]...)
	}
}

// Corruptions returns the damage found since the last call, at Open or since (by Take,
// when a record no longer reads back as it was written), and forgets it.
func (s *Spool) Corruptions() []Corruption {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.corrupt
	s.corrupt = nil
	return out
}

// Len is how many results the spool holds (taken ones included, until acknowledged).
func (s *Spool) Len() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.results
}

// Bytes is the spool's size on disk.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Append stores a batch durably (written and synced before it returns). To stay
// within its size it then deletes its oldest segments, except one being read, and
// reports how many results they held.
func (s *Spool) Append(batch []ping.Result) (dropped int64, err error) {
	if len(batch) == 0 {
		return 0, nil
	}
	payload := encode(batch)
	if len(payload) > maxRecord {
		return 0, fmt.Errorf("spool: a batch of %d results is too big for one record", len(batch))
	}
	rec := appendRecord(make([]byte, 0, headerSize+len(payload)), payload, len(batch))

	s.mu.Lock()
	defer s.mu.Unlock()
	last := s.newest()
	if s.w == nil || last == nil || last.size+int64(len(rec)) > s.segmentBytes {
		if err := s.startSegment(); err != nil {
			return 0, err
		}
		last = s.newest()
	}
	if _, err := s.w.Write(rec); err != nil {
		return 0, fmt.Errorf("spool: write: %w", err)
	}
	if err := s.w.Sync(); err != nil {
		return 0, fmt.Errorf("spool: sync: %w", err)
	}
	last.records = append(last.records, record{off: last.size + headerSize, length: int32(len(payload)),
		results: int32(len(batch)), sum: crc32.Checksum(payload, crcTable)})
	last.live++
	last.size += int64(len(rec))
	s.bytes += int64(len(rec))
	s.results += int64(len(batch))
	return s.trim(), nil
}

func (s *Spool) newest() *segment {
	if len(s.segs) == 0 {
		return nil
	}
	return s.segs[len(s.segs)-1]
}

// startSegment closes the segment being appended to and opens a new one.
func (s *Spool) startSegment() error {
	if s.w != nil {
		if err := s.w.Close(); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		s.w = nil
	}
	seq := uint64(time.Now().UnixNano())
	if last := s.newest(); last != nil && seq <= last.seq {
		seq = last.seq + 1
	}
	f, err := os.OpenFile(s.path(seq), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	// Synced with the first record, which follows at once.
	if _, err := f.WriteString(fileHeader); err != nil {
		f.Close()
		_ = os.Remove(s.path(seq))
		return fmt.Errorf("spool: write: %w", err)
	}
	s.w = f
	s.segs = append(s.segs, &segment{seq: seq, size: int64(len(fileHeader))})
	s.bytes += int64(len(fileHeader))
	return nil
}

// trim deletes the oldest segments while the spool is over its size, keeping the
// newest and any with a record being written; it returns the results deleted.
func (s *Spool) trim() (dropped int64) {
	for s.bytes > s.maxBytes && len(s.segs) > 1 {
		oldest := s.segs[0]
		if slices.ContainsFunc(oldest.records, func(r record) bool { return r.state == taken }) {
			return dropped
		}
		var lost int64
		for _, r := range oldest.records {
			if r.state != done {
				lost += int64(r.results)
			}
		}
		s.removeOldest()
		s.results -= lost
		dropped += lost
	}
	return dropped
}

// removeOldest deletes the oldest segment's file and forgets it (its results are
// already subtracted, or the caller subtracts them).
func (s *Spool) removeOldest() {
	oldest := s.segs[0]
	_ = os.Remove(s.path(oldest.seq))
	s.bytes -= oldest.size
	s.segs = s.segs[1:]
}

// Take returns the oldest record not taken yet, if any, and marks it taken until
// Ack or Release. A record that no longer reads back as written is skipped and
// reported (Corruptions).
func (s *Spool) Take() (batch []ping.Result, tok Token, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seg := range s.segs {
		for i := range seg.records {
			r := &seg.records[i]
			if r.state != waiting {
				continue
			}
			b, err := s.read(seg.seq, r)
			if err != nil {
				s.reportCorrupt(Corruption{Segment: s.path(seg.seq), Offset: r.off, Bytes: int64(r.length),
					Results: int64(r.results), ResultsKnown: true, Reason: "record payload no longer reads back: " + err.Error()})
				s.markDone(seg, r)
				continue
			}
			r.state = taken
			return b, Token{seg.seq, i}, true
		}
	}
	return nil, Token{}, false
}

var errChanged = errors.New("checksum mismatch")

func (s *Spool) read(seq uint64, r *record) ([]ping.Result, error) {
	f, err := os.Open(s.path(seq))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	payload := make([]byte, r.length)
	if _, err := f.ReadAt(payload, r.off); err != nil {
		return nil, err
	}
	if crc32.Checksum(payload, crcTable) != r.sum {
		return nil, errChanged
	}
	return decode(payload)
}

// Ack forgets a taken record: it has been written.
func (s *Spool) Ack(tok Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seg, r := s.find(tok); r != nil && r.state == taken {
		s.markDone(seg, r)
	}
}

// Release gives a taken record back, to be taken again later.
func (s *Spool) Release(tok Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, r := s.find(tok); r != nil && r.state == taken {
		r.state = waiting
	}
}

func (s *Spool) find(tok Token) (*segment, *record) {
	for _, seg := range s.segs {
		if seg.seq == tok.seq && tok.idx < len(seg.records) {
			return seg, &seg.records[tok.idx]
		}
	}
	return nil, nil
}

// markDone acknowledges r and deletes leading segments that hold nothing any more.
func (s *Spool) markDone(seg *segment, r *record) {
	r.state = done
	seg.live--
	s.results -= int64(r.results)
	for len(s.segs) > 0 && s.segs[0].live == 0 {
		if s.segs[0] == s.newest() && s.w != nil {
			// The segment being appended to: close it, so the next Append starts afresh.
			_ = s.w.Close()
			s.w = nil
		}
		s.removeOldest()
	}
}

// Close closes the file being appended to; what is spooled stays on disk.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return nil
	}
	err := s.w.Close()
	s.w = nil
	return err
}
