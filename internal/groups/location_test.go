package groups

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCheckLocations(t *testing.T) {
	sixteen := strings.Split("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", ",")
	for _, tc := range []struct {
		names []string
		bad   string // what the message must say; "" for a valid list
	}{
		{[]string{"local"}, ""},
		{[]string{"fra", "nyc-2", strings.Repeat("x", 32)}, ""},
		{sixteen, ""},
		{append(slices.Clone(sixteen), "q"), "at most 16"},
		{nil, "at least one"},
		{[]string{}, "at least one"},
		{[]string{"fra", "fra"}, `"fra" twice`},
		{[]string{"Fra"}, `"Fra"`},
		{[]string{""}, `""`},
		{[]string{"a b"}, `"a b"`},
		{[]string{"a,b"}, `"a,b"`},
		{[]string{"fränk"}, `"fränk"`},
		{[]string{strings.Repeat("x", 33)}, "1-32"},
	} {
		err := CheckLocations(tc.names)
		if tc.bad == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.names, err)
			}
			continue
		}
		var de *Error
		if !errors.As(err, &de) || !errors.Is(err, ErrInvalid) || de.Field != "locations" || !strings.Contains(de.Message, tc.bad) {
			t.Errorf("%q: %v, want an invalid locations error saying %s", tc.names, err, tc.bad)
		}
	}
}

func TestProbeLocations(t *testing.T) {
	if got := (&Group{}).ProbeLocations("hq"); !slices.Equal(got, []string{"hq"}) {
		t.Errorf("a group naming no location: %v, want the server's own", got)
	}
	g := &Group{Locations: []string{"fra", "local"}}
	got := g.ProbeLocations("hq")
	got[0] = "changed"
	if !slices.Equal(g.Locations, []string{"fra", "local"}) {
		t.Errorf("ProbeLocations shares the group's slice: %v", g.Locations)
	}
}
