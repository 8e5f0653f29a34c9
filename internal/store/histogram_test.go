package store

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistogramBucketsAreOrderedAndBounded(t *testing.T) {
	prev := 0
	for us := int64(0); us < 1<<31; us = us + 1 + us/50 {
		b := histBucket(us)
		if b < prev || b >= histBuckets {
			t.Fatalf("bucket(%d) = %d after %d", us, b, prev)
		}
		prev = b
		if v := histValue(b); math.Abs(v-float64(us)) > HistogramRelativeError*float64(us)+1e-9 {
			t.Fatalf("bucket(%d) stands for %.1f: more than %.1f%% off", us, v, 100*HistogramRelativeError)
		}
	}
	if histBucket(1<<31-1) != histBuckets-1 {
		t.Fatalf("the largest int32 RTT is in bucket %d, want the last (%d)", histBucket(1<<31-1), histBuckets-1)
	}
}

// TestHistogramPercentiles checks the stated error against exact nearest-rank
// percentiles, and that concatenated encodings merge.
func TestHistogramPercentiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 7, 100, 5000} {
		var vals []int64
		a, b := histogram{}, histogram{}
		for i := range n {
			v := int64(math.Exp(rng.NormFloat64()*1.5 + 9)) // ~8 ms, spread over decades
			vals = append(vals, v)
			if i%2 == 0 {
				a.add(v)
			} else {
				b.add(v)
			}
		}
		h := histogram{}
		h.decodeInto(append(a.encode(), b.encode()...))
		slices.Sort(vals)
		qs := []float64{0.01, 0.5, 0.95, 0.99, 1}
		got := h.percentiles(qs, float64(vals[0]), float64(vals[n-1]))
		for i, q := range qs {
			exact := float64(vals[nearestRank(q, int64(n))-1])
			if math.Abs(got[i]-exact) > HistogramRelativeError*exact {
				t.Errorf("n=%d p%v = %.0f, exact %.0f: more than %.1f%% off", n, 100*q, got[i], exact, 100*HistogramRelativeError)
			}
		}
	}
}
