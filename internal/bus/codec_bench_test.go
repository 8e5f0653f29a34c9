package bus

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"pingdeck/internal/ping"
)

// BenchmarkResultBatch times encoding and decoding a batch of 1,000 results (what the
// publisher, the writer and each following hub do per message); ns/op ÷ 1,000 is the
// cost per result.
func BenchmarkResultBatch(b *testing.B) {
	rs := make([]ping.Result, 1000)
	now := time.Now()
	for i := range rs {
		rs[i] = ping.Result{TargetID: uuid.NewString(), SentAt: now.Add(time.Duration(i) * time.Millisecond), OK: i%10 != 0, RTT: time.Duration(300+i) * time.Microsecond}
		if !rs[i].OK {
			rs[i].Err = ping.ErrTimeout
		}
	}
	subject := ResultSubject(LocalLocation, uuid.NewString())
	data, err := encodeBatch("source", 0, rs)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeBatch("source", 0, rs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeResults(subject, data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
