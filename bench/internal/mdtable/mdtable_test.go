package mdtable

import (
	"math"
	"strings"
	"testing"
)

func TestNumber(t *testing.T) {
	for _, tc := range []struct {
		v      float64
		digits int
		want   string
	}{
		{0, 0, "0"},
		{999, 0, "999"},
		{1000, 0, "1,000"},
		{1234567.89, 1, "1,234,567.9"},
		{-20000, 0, "-20,000"},
		{-0.01, 1, "0.0"},
		{math.NaN(), 1, "n/a"},
	} {
		if got := Number(tc.v, tc.digits); got != tc.want {
			t.Errorf("Number(%v, %d) = %q, want %q", tc.v, tc.digits, got, tc.want)
		}
	}
}

func TestWrite(t *testing.T) {
	var b strings.Builder
	tab := Table{Header: []string{"name", "n", "notes"}, Text: []int{0, 2},
		Rows: [][]string{{"a|b", "1,000", "two\nlines"}}}
	if err := tab.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := "| name | n | notes |\n| --- | ---: | --- |\n| a\\|b | 1,000 | two lines |\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
