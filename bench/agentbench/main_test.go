//go:build linux

package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	o, err := parseOptions(nil, io.Discard)
	if err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	if o.n != 5000 || o.agents != 4 || o.interval != time.Second || o.window != time.Minute || o.engine != "auto" {
		t.Errorf("defaults %+v: want 5,000 targets × 4 agents at 1 Hz, a 1m window, engine auto", o)
	}
	for _, tc := range []struct {
		args []string
		flag string // the error names it
	}{
		{[]string{"-agents", "0"}, "-agents"},
		{[]string{"-agents", "17"}, "-agents"},
		{[]string{"-n", "0"}, "-n"},
		{[]string{"-n", "50001"}, "-n"},
		{[]string{"-group-size", "0"}, "-group-size"},
		{[]string{"-interval", "100ms"}, "-interval"},
		{[]string{"-interval", "1500us"}, "-interval"},
		{[]string{"-window", "1s"}, "-window"},
		{[]string{"-warmup", "-1s"}, "-warmup"},
		{[]string{"-engine", "fping"}, "-engine"},
		{[]string{"extra"}, "unexpected"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseOptions(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.flag) {
				t.Errorf("error %v, want one naming %s", err, tc.flag)
			}
		})
	}
}
