package spool

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Segment format, version 2 (written since records could be found again past damage):
//
//	file header: "pdspool" 0x02 (8 bytes)
//	record:      marker "\x8ePDR" | payload length uint32 LE | results uint32 LE |
//	             CRC-32C of the payload uint32 LE | CRC-32C of the 16 bytes before it uint32 LE |
//	             payload
//
// The marker and the header's own checksum let a reader that meets a damaged record
// find the next intact one by searching for the marker; the result count in the header
// says how many results a record with a damaged payload held.
//
// Version 1 segments (no file header; records are length uint32 LE | CRC-32C uint32 LE |
// payload) are still read. Their first four bytes can never be the version 2 file
// header: read as a version 1 length, "pdsp" is far above maxRecord.
const (
	fileHeader   = "pdspool\x02"
	recordMarker = "\x8ePDR"
	headerSize   = 20
	v1HeaderSize = 8
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Corruption is a stretch of a segment that could not be read back and was skipped.
type Corruption struct {
	Segment string // the segment file
	Offset  int64  // where the skipped bytes start
	Bytes   int64  // how many were skipped
	// Results is how many results the skipped records held, as far as is known: a
	// record whose header survived says how many it held; what a damaged header
	// belonged to cannot be known, and ResultsKnown is then false.
	Results      int64
	ResultsKnown bool
	Reason       string
}

// recordHeader is a version 2 record header that passed its own checksum.
type recordHeader struct {
	length, results, sum uint32
}

// appendRecord appends the version 2 record for payload holding results results.
func appendRecord(b []byte, payload []byte, results int) []byte {
	b = append(b, recordMarker...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.LittleEndian.AppendUint32(b, uint32(results))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(payload, crcTable))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[len(b)-16:], crcTable))
	return append(b, payload...)
}

// parseHeader reads the version 2 record header at the start of b, if it is one.
func parseHeader(b []byte) (recordHeader, bool) {
	if len(b) < headerSize || string(b[:4]) != recordMarker ||
		crc32.Checksum(b[:16], crcTable) != binary.LittleEndian.Uint32(b[16:20]) {
		return recordHeader{}, false
	}
	h := recordHeader{
		length:  binary.LittleEndian.Uint32(b[4:8]),
		results: binary.LittleEndian.Uint32(b[8:12]),
		sum:     binary.LittleEndian.Uint32(b[12:16]),
	}
	return h, h.length > 0 && h.length <= maxRecord
}

// index lists the intact records of a segment's contents and the damage between them.
// name is the segment's file, for the corruption reports.
func index(name string, data []byte) ([]record, []Corruption) {
	switch {
	case bytes.HasPrefix(data, []byte(fileHeader)):
		return indexV2(name, data, len(fileHeader))
	case len(data) < len(fileHeader) && bytes.HasPrefix([]byte(fileHeader), data):
		return nil, nil // a segment created just before a crash, its header cut short
	}
	if _, ok := parseV1(data, 0); !ok && resyncV2(data, 0) < len(data) {
		// Not a version 1 record, but version 2 ones further on: a version 2 segment
		// whose file header is damaged. Reading from 0 reports the header as skipped.
		return indexV2(name, data, 0)
	}
	return indexV1(name, data)
}

// damage collects the skipped stretches of one segment, merging adjacent ones.
type damage struct {
	name string
	out  []Corruption
}

func (d *damage) add(off, n int64, results int64, known bool, reason string) {
	if k := len(d.out); k > 0 {
		last := &d.out[k-1]
		if last.Offset+last.Bytes == off {
			last.Bytes += n
			last.Results += results
			last.ResultsKnown = last.ResultsKnown && known
			if last.Reason != reason {
				last.Reason += "; " + reason
			}
			return
		}
	}
	d.out = append(d.out, Corruption{Segment: d.name, Offset: off, Bytes: n, Results: results, ResultsKnown: known, Reason: reason})
}

// indexV2 reads a version 2 segment from its first record at start.
func indexV2(name string, data []byte, start int) ([]record, []Corruption) {
	var recs []record
	d := damage{name: name}
	for off := start; off < len(data); {
		h, ok := parseHeader(data[off:])
		if !ok {
			next := resyncV2(data, off+1)
			reason := "damaged record header"
			if len(data)-off < headerSize {
				reason = "record header cut short"
			}
			d.add(int64(off), int64(next-off), 0, false, reason)
			off = next
			continue
		}
		end := off + headerSize + int(h.length)
		if end > len(data) {
			d.add(int64(off), int64(len(data)-off), int64(h.results), true, "record cut short")
			break
		}
		payload := data[off+headerSize : end]
		if crc32.Checksum(payload, crcTable) != h.sum {
			d.add(int64(off), int64(end-off), int64(h.results), true, "payload checksum mismatch")
		} else {
			recs = append(recs, record{off: int64(off + headerSize), length: int32(h.length), results: int32(h.results), sum: h.sum})
		}
		off = end
	}
	return recs, d.out
}

// resyncV2 is the offset of the first intact record header at or after from, or the
// end of data.
func resyncV2(data []byte, from int) int {
	for from < len(data) {
		i := bytes.Index(data[from:], []byte(recordMarker))
		if i < 0 {
			break
		}
		if _, ok := parseHeader(data[from+i:]); ok {
			return from + i
		}
		from += i + 1
	}
	return len(data)
}

// indexV1 reads an old segment. Its records have no marker, so past damage it tries
// every offset for one where a whole record's length and checksum hold.
func indexV1(name string, data []byte) ([]record, []Corruption) {
	var recs []record
	d := damage{name: name}
	for off := 0; off < len(data); {
		r, ok := parseV1(data, off)
		if !ok {
			next := off + 1
			for next < len(data) {
				if _, ok := parseV1(data, next); ok {
					break
				}
				next++
			}
			d.add(int64(off), int64(next-off), 0, false, "damaged or cut-short record (version 1 segment)")
			off = next
			continue
		}
		recs = append(recs, r)
		off += v1HeaderSize + int(r.length)
	}
	return recs, d.out
}

// parseV1 checks for a whole version 1 record at off.
func parseV1(data []byte, off int) (record, bool) {
	if len(data)-off < v1HeaderSize {
		return record{}, false
	}
	length := binary.LittleEndian.Uint32(data[off:])
	sum := binary.LittleEndian.Uint32(data[off+4:])
	if length == 0 || length > maxRecord || int64(length) > int64(len(data)-off-v1HeaderSize) {
		return record{}, false
	}
	payload := data[off+v1HeaderSize : off+v1HeaderSize+int(length)]
	// Every payload starts with its result count, at least 1 and at most its length:
	// a cheap test that spares most candidate offsets the checksum.
	n, k := binary.Uvarint(payload)
	if k <= 0 || n == 0 || n > uint64(length) || crc32.Checksum(payload, crcTable) != sum {
		return record{}, false
	}
	return record{off: int64(off + v1HeaderSize), length: int32(length), results: int32(n), sum: sum}, true
}

// String describes the damage for a log line.
func (c Corruption) String() string {
	results := fmt.Sprintf("%d results", c.Results)
	if !c.ResultsKnown {
		results = fmt.Sprintf("at least %d results", c.Results)
	}
	return fmt.Sprintf("%s: skipped %d bytes at offset %d (%s): %s", c.Segment, c.Bytes, c.Offset, results, c.Reason)
}
