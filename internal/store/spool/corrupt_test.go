package spool

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pingdeck/internal/ping"
)

const (
	records   = 21 // in the damaged segment; the middle one is damaged
	perRecord = 10 // results in each
	middle    = records / 2
)

// writeSegment appends records batches of perRecord results to a fresh spool in dir,
// closes it and returns the one segment's path and where each record starts.
func writeSegment(t *testing.T, dir string) (path string, starts []int64) {
	t.Helper()
	s, err := Open(dir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for i := range records {
		start := s.Bytes() // where this record will start: after the file header, for the first
		if i == 0 {
			start = int64(len(fileHeader))
		}
		starts = append(starts, start)
		mustAppend(t, s, batch(i*perRecord, perRecord))
	}
	s.Close()
	return onlySegment(t, dir), starts
}

func onlySegment(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if len(files) != 1 {
		t.Fatalf("segments: %v", files)
	}
	return files[0]
}

// flip inverts the bits of the byte at off.
func flip(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var one [1]byte
	if _, err := f.ReadAt(one[:], off); err != nil {
		t.Fatal(err)
	}
	one[0] ^= 0xff
	if _, err := f.WriteAt(one[:], off); err != nil {
		t.Fatal(err)
	}
}

// takeAll takes and acknowledges everything and checks it is every record but skip.
func takeAll(t *testing.T, s *Spool, skip ...int) {
	t.Helper()
	skipped := map[int]bool{}
	for _, i := range skip {
		skipped[i] = true
	}
	for i := range records {
		if !skipped[i] {
			s.Ack(mustTakeQuietly(t, s, batch(i*perRecord, perRecord), i))
		}
	}
	if b, _, ok := s.Take(); ok {
		t.Fatalf("took a record no intact one accounts for: %d results", len(b))
	}
}

func mustTakeQuietly(t *testing.T, s *Spool, want []ping.Result, i int) Token {
	t.Helper()
	got, tok, ok := s.Take()
	if !ok || len(got) != len(want) || got[0] != want[0] || got[len(got)-1] != want[len(want)-1] {
		t.Fatalf("record %d: took %d results (ok %v), want %d from %v", i, len(got), ok, len(want), want[0].SentAt)
	}
	return tok
}

// One damaged record costs that record only: every other one is read back, and the
// damage is reported with its place, size and (when its header survived) its results.
func TestDamageSkipsOnlyTheDamagedRecord(t *testing.T) {
	tests := []struct {
		name      string
		damage    func(t *testing.T, path string, starts []int64, size int64)
		lost      []int // records lost
		results   int64 // results reported lost
		known     bool
		reason    string
		wholeTail bool // the report runs to the end of the file
	}{
		{"byte flipped in a payload", func(t *testing.T, p string, st []int64, _ int64) {
			flip(t, p, (st[middle]+headerSize+st[middle+1])/2)
		}, []int{middle}, perRecord, true, "payload checksum mismatch", false},
		{"byte flipped in a length field", func(t *testing.T, p string, st []int64, _ int64) {
			flip(t, p, st[middle]+5)
		}, []int{middle}, 0, false, "damaged record header", false},
		{"byte flipped in a marker", func(t *testing.T, p string, st []int64, _ int64) {
			flip(t, p, st[middle])
		}, []int{middle}, 0, false, "damaged record header", false},
		{"bytes flipped in two records", func(t *testing.T, p string, st []int64, _ int64) {
			flip(t, p, st[3]+9)                      // the result count in a header
			flip(t, p, (st[15]+headerSize+st[16])/2) // a payload
		}, []int{3, 15}, perRecord, false, "", false},
		{"tail cut short in a payload", func(t *testing.T, p string, _ []int64, size int64) {
			if err := os.Truncate(p, size-3); err != nil {
				t.Fatal(err)
			}
		}, []int{records - 1}, perRecord, true, "record cut short", true},
		{"tail cut short in a header", func(t *testing.T, p string, st []int64, _ int64) {
			if err := os.Truncate(p, st[records-1]+7); err != nil {
				t.Fatal(err)
			}
		}, []int{records - 1}, 0, false, "record header cut short", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path, starts := writeSegment(t, dir)
			fi, _ := os.Stat(path)
			tt.damage(t, path, starts, fi.Size())
			fi, _ = os.Stat(path)

			s := mustOpen(t, dir, 1<<30)
			if want := int64((records - len(tt.lost)) * perRecord); s.Len() != want {
				t.Fatalf("Len = %d, want %d", s.Len(), want)
			}
			reports := s.Corruptions()
			if len(reports) != len(tt.lost) {
				t.Fatalf("reports = %v, want %d", reports, len(tt.lost))
			}
			var results int64
			known := true
			for k, c := range reports {
				i := tt.lost[k]
				end := fi.Size()
				if i+1 < records {
					end = starts[i+1]
				}
				if c.Segment != path || c.Offset != starts[i] || c.Offset+c.Bytes != end || !strings.Contains(c.Reason, tt.reason) {
					t.Errorf("report %d = %+v; want %s bytes %d to %d, reason %q", k, c, path, starts[i], end, tt.reason)
				}
				results += c.Results
				known = known && c.ResultsKnown
			}
			if results != tt.results || known != tt.known {
				t.Errorf("reported %d results (known %v), want %d (known %v)", results, known, tt.results, tt.known)
			}
			if s.Corruptions() != nil {
				t.Error("the same damage was reported twice")
			}
			takeAll(t, s, tt.lost...)
		})
	}
}

// A record damaged after Open is found when it is taken: skipped, reported with its
// results, and the next record is taken instead.
func TestDamageFoundAtTakeIsReported(t *testing.T) {
	dir := t.TempDir()
	path, starts := writeSegment(t, dir)
	s := mustOpen(t, dir, 1<<30)
	flip(t, path, starts[0]+headerSize+3)
	mustTakeQuietly(t, s, batch(perRecord, perRecord), 1)
	c := s.Corruptions()
	if len(c) != 1 || c[0].Results != perRecord || !c[0].ResultsKnown || !strings.Contains(c[0].Reason, "no longer reads back") {
		t.Fatalf("reports = %+v", c)
	}
	if s.Len() != (records-2)*perRecord+perRecord { // the taken one still counts until acknowledged
		t.Fatalf("Len = %d", s.Len())
	}
}

// appendV1 is a record as version 1 segments hold it.
func appendV1(b []byte, payload []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(payload, crcTable))
	return append(b, payload...)
}

// Segments written before the format carried markers are still read, and past a
// damaged record their reading goes on at the next offset where a whole record checks.
func TestVersion1SegmentsAreReadAndResynchronised(t *testing.T) {
	for _, damaged := range []bool{false, true} {
		dir := t.TempDir()
		var data []byte
		var starts []int
		for i := range records {
			starts = append(starts, len(data))
			data = appendV1(data, encode(batch(i*perRecord, perRecord)))
		}
		if damaged {
			data[starts[middle]+1] ^= 0xff // its length
		}
		if err := os.WriteFile(filepath.Join(dir, "00000000000000000001"+suffix), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s := mustOpen(t, dir, 1<<30)
		reports := s.Corruptions()
		if !damaged {
			if len(reports) != 0 {
				t.Fatalf("intact segment: reports %v", reports)
			}
			takeAll(t, s)
			continue
		}
		if len(reports) != 1 || reports[0].Offset != int64(starts[middle]) || reports[0].Bytes != int64(starts[middle+1]-starts[middle]) || reports[0].ResultsKnown {
			t.Fatalf("reports = %+v; want bytes %d to %d, results unknown", reports, starts[middle], starts[middle+1])
		}
		takeAll(t, s, middle)
		mustAppend(t, s, batch(0, 3)) // new records go to a version 2 segment
		got, _, ok := s.Take()
		if !ok || len(got) != 3 {
			t.Fatalf("after appending: took %d (%v)", len(got), ok)
		}
	}
}

// A byte flipped in a segment's file header costs none of its records.
func TestDamagedFileHeaderKeepsTheRecords(t *testing.T) {
	dir := t.TempDir()
	path, _ := writeSegment(t, dir)
	flip(t, path, 2)
	s := mustOpen(t, dir, 1<<30)
	c := s.Corruptions()
	if len(c) != 1 || c[0].Offset != 0 || c[0].Bytes != int64(len(fileHeader)) {
		t.Fatalf("reports = %+v; want the %d bytes of the file header", c, len(fileHeader))
	}
	takeAll(t, s)
}
