//go:build linux

package main

import (
	"slices"
	"testing"
)

func TestForEachAtReadsEveryItem(t *testing.T) {
	const g = `"9019863a-cf6b-4631-ba00-1844aa3cee15"`
	tests := []struct {
		name string
		msg  string
		want []int64
	}{
		{"uuids", `{"type":"results","seq":5,"items":[{"g":` + g + `,"t":` + g + `,"at":1796135814000,"ok":true,"rtt_ms":1.5},` +
			`{"g":` + g + `,"t":` + g + `,"at":1796135814001,"ok":false,"rtt_ms":null,"err":"timeout"}]}`, []int64{1796135814000, 1796135814001}},
		{"other ids and a brace in err", `{"type":"results","seq":5,"items":[{"g":"a","t":"b","at":7,"ok":false,"rtt_ms":null,"err":"x}y"},` +
			`{"g":"a","t":"bb","at":8,"ok":true,"rtt_ms":1}]}`, []int64{7, 8}},
		{"empty", `{"type":"results","seq":5,"items":[]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int64
			forEachAt([]byte(tt.msg), func(at int64) { got = append(got, at) })
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
