package probeblock

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// linkProbes makes n probes at 1 Hz as a real link gives them: send times a few tens
// of µs off the schedule, RTTs around 20 ms with ~300 µs of jitter and rare spikes,
// and loss% lost.
func linkProbes(rng *rand.Rand, startUs int64, n int, loss float64) []Probe {
	out := make([]Probe, 0, n)
	for i := range n {
		p := Probe{SentUs: startUs + int64(i)*1_000_000 + int64(rng.NormFloat64()*40) + 200}
		switch {
		case rng.Float64() < loss:
			p.Status = Lost
		default:
			p.RTTUs = 20_000 + int64(abs(rng.NormFloat64())*300)
			if rng.IntN(200) == 0 {
				p.RTTUs += rng.Int64N(50_000)
			}
		}
		out = append(out, p)
	}
	return out
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const start = int64(1_800_000_000_000_000)
	cases := map[string][]Probe{
		"empty":  nil,
		"one":    {{SentUs: start + 5, RTTUs: 123}},
		"lost":   {{SentUs: start, Status: Lost}, {SentUs: start + 1_000_000, Status: Lost}},
		"link":   linkProbes(rng, start, 600, 0.01),
		"unsent": {{SentUs: start, Status: Unsent}, {SentUs: start + 10, Status: Unsent + 3}, {SentUs: start + 20, RTTUs: 0}, {SentUs: start + 1<<40, RTTUs: 1 << 40}},
		"gappy":  {{SentUs: start, RTTUs: 5}, {SentUs: start + 1, RTTUs: 1 << 31}, {SentUs: start + 300_000_000, RTTUs: 7}, {SentUs: start + 300_000_100, Status: Lost}},
	}
	var random []Probe
	at := start
	for range 1000 {
		at += 1 + rng.Int64N(3_000_000)
		p := Probe{SentUs: at, RTTUs: rng.Int64N(10_000_000)}
		if rng.IntN(5) == 0 {
			p.Status, p.RTTUs = Status(1+rng.IntN(5)), 0
		}
		random = append(random, p)
	}
	cases["random"] = random
	for name, probes := range cases {
		block := Encode(start, probes)
		got, err := Decode([]Probe{{SentUs: -1}}, start, block)
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if !slices.Equal(got[1:], probes) || got[0].SentUs != -1 {
			t.Fatalf("%s: decoded %v, want %v", name, got[1:], probes)
		}
	}
}

func TestCorruptBlocksAreRefused(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	block := Encode(0, linkProbes(rng, 0, 100, 0.05))
	for cut := range len(block) - 1 {
		if _, err := Decode(nil, 0, block[:cut]); err == nil {
			t.Fatalf("a block cut to %d of %d bytes decoded", cut, len(block))
		}
	}
	if _, err := Decode(nil, 0, []byte{9, 1}); err == nil {
		t.Fatal("an unknown version decoded")
	}
}

func TestMergeKeepsOneProbePerSendTime(t *testing.T) {
	a := []Probe{{SentUs: 1, RTTUs: 10}, {SentUs: 3, RTTUs: 30}}
	b := []Probe{{SentUs: 2, RTTUs: 20}, {SentUs: 3, RTTUs: 99}, {SentUs: 4, Status: Lost}}
	want := []Probe{{SentUs: 1, RTTUs: 10}, {SentUs: 2, RTTUs: 20}, {SentUs: 3, RTTUs: 30}, {SentUs: 4, Status: Lost}}
	if got := Merge(a, b); !slices.Equal(got, want) {
		t.Fatalf("merge = %v, want %v", got, want)
	}
	if got := Sort([]Probe{{SentUs: 4}, {SentUs: 1, RTTUs: 1}, {SentUs: 1, RTTUs: 2}}); !slices.Equal(got, []Probe{{SentUs: 1, RTTUs: 1}, {SentUs: 4}}) {
		t.Fatalf("sort = %v", got)
	}
}

// TestLinkBlockSize checks a 10-minute block of a 1 Hz target on a jittery link with
// 1 % loss stays near the entropy of its jitter: under 3 bytes a probe.
func TestLinkBlockSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	probes := linkProbes(rng, 0, 600, 0.01)
	block := Encode(0, probes)
	perProbe := float64(len(block)) / float64(len(probes))
	t.Logf("600 probes: %d bytes, %.2f bytes a probe", len(block), perProbe)
	if perProbe > 3 {
		t.Fatalf("%.2f bytes a probe", perProbe)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(0, linkProbes(rand.New(rand.NewPCG(7, 8)), 0, 20, 0.2)))
	f.Fuzz(func(t *testing.T, block []byte) {
		probes, err := Decode(nil, 0, block)
		if err != nil {
			return
		}
		if len(probes) > 8*len(block)+1 {
			t.Fatalf("%d probes from %d bytes", len(probes), len(block))
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	block := Encode(0, linkProbes(rand.New(rand.NewPCG(9, 10)), 0, 300, 0.01))
	buf := make([]Probe, 0, 300)
	b.SetBytes(300)
	for b.Loop() {
		var err error
		if buf, err = Decode(buf[:0], 0, block); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	probes := linkProbes(rand.New(rand.NewPCG(9, 10)), 0, 300, 0.01)
	for b.Loop() {
		Encode(0, probes)
	}
}
