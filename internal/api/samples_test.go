package api_test

import (
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"
)

// TestSamplesCursorNeverWrapsToTheFirstPage: a cursor at the end of the int64 range once
// wrapped around (cursor+1 < 0) and answered with the window's first page, so a client
// paging with it would loop forever. A cursor at or past the window's end is an empty
// last page; one that is not a send time is refused, naming cursor.
func TestSamplesCursorNeverWrapsToTheFirstPage(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{})
	alice := e.user("alice")
	g, base := reportFixture(t, e, alice)
	p := fmt.Sprintf("/api/v1/groups/%s/targets/%s/samples?from=%d&to=%d&limit=10&cursor=",
		g.ID, g.Targets[0].ID, base.Unix(), base.Add(120*time.Second).Unix())
	type page struct {
		Samples []struct{ At string } `json:"samples"`
		Next    *string               `json:"next"`
	}
	for _, cursor := range []int64{math.MaxInt64, math.MaxInt64 - 1, base.Add(120 * time.Second).UnixMicro()} {
		var pg page
		alice.mustJSON("GET", p+strconv.FormatInt(cursor, 10), nil, 200, &pg)
		if len(pg.Samples) != 0 || pg.Next != nil {
			t.Errorf("cursor %d: %d samples (first %v), next %v; want an empty last page", cursor, len(pg.Samples), pg.Samples, pg.Next)
		}
	}
	// The last sample before the end still leads to an empty page, not a repeat.
	var last page
	alice.mustJSON("GET", p+strconv.FormatInt(base.Add(119*time.Second).UnixMicro(), 10), nil, 200, &last)
	if len(last.Samples) != 0 {
		t.Errorf("cursor at the last sample: %d samples, want 0", len(last.Samples))
	}
	for _, bad := range []string{"9223372036854775808", "-1", "-9223372036854775808", "1e3"} {
		alice.in(t).mustError("GET", p+bad, nil, 400, "invalid", "cursor")
	}
}
