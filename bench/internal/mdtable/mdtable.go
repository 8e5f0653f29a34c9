// Package mdtable prints the benchmarks' results as markdown tables, with numbers
// grouped in thousands.
package mdtable

import (
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Table is a markdown table: its headings, its rows (one cell a heading each), and the
// columns whose cells are text, aligned left; the others are numbers, aligned right.
type Table struct {
	Header []string
	Rows   [][]string
	Text   []int // indices of the left-aligned columns
}

// Write prints the table; a | or a line break in a cell is escaped or folded.
func (t Table) Write(w io.Writer) error {
	var b strings.Builder
	line := func(cells []string) {
		out := make([]string, len(cells))
		for i, c := range cells {
			out[i] = strings.ReplaceAll(strings.ReplaceAll(c, "|", `\|`), "\n", " ")
		}
		b.WriteString("| " + strings.Join(out, " | ") + " |\n")
	}
	line(t.Header)
	sep := make([]string, len(t.Header))
	for i := range sep {
		sep[i] = "---:"
		if slices.Contains(t.Text, i) {
			sep[i] = "---"
		}
	}
	line(sep)
	for _, r := range t.Rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Number formats v with digits decimals and thousands separators; NaN is "n/a".
func Number(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', digits, 64)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

// MiB is bytes in mebibytes.
func MiB(bytes int64) float64 { return float64(bytes) / (1 << 20) }
