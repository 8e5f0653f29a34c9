package spool

import (
	"encoding/binary"
	"errors"
	"time"

	"pingdeck/internal/ping"
)

// encode is a batch's payload: its length, then per result the target and group IDs,
// send time (unix ns), RTT (ns), OK and error text.
func encode(batch []ping.Result) []byte {
	out := binary.AppendUvarint(nil, uint64(len(batch)))
	for i := range batch {
		r := &batch[i]
		out = appendString(out, r.TargetID)
		out = appendString(out, r.GroupID)
		out = binary.AppendVarint(out, r.SentAt.UnixNano())
		out = binary.AppendVarint(out, int64(r.RTT))
		ok := byte(0)
		if r.OK {
			ok = 1
		}
		out = append(out, ok)
		out = appendString(out, r.Err)
	}
	return out
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errCorrupt = errors.New("spool: corrupt record")

func decode(p []byte) ([]ping.Result, error) {
	d := decoder{p: p}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(p)) {
		return nil, errCorrupt
	}
	out := make([]ping.Result, 0, n)
	for range n {
		var r ping.Result
		r.TargetID = d.string()
		r.GroupID = d.string()
		r.SentAt = time.Unix(0, d.varint()).UTC()
		r.RTT = time.Duration(d.varint())
		r.OK = d.byte() == 1
		r.Err = d.string()
		if d.err != nil {
			return nil, d.err
		}
		out = append(out, r)
	}
	return out, nil
}

// decoder reads a payload, remembering the first error.
type decoder struct {
	p   []byte
	err error
}

func (d *decoder) uvarint() uint64 { return next(d, binary.Uvarint) }
func (d *decoder) varint() int64   { return next(d, binary.Varint) }

// next reads one varint of either kind with read.
func next[T uint64 | int64](d *decoder, read func([]byte) (T, int)) T {
	v, n := read(d.p)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.p) == 0 {
		d.err = errCorrupt
		return 0
	}
	b := d.p[0]
	d.p = d.p[1:]
	return b
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.p)) {
		d.err = errCorrupt
		return ""
	}
	s := string(d.p[:n])
	d.p = d.p[n:]
	return s
}
