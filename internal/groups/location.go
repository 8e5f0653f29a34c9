package groups

import "slices"

// Location limits: a location names where probes are sent from (DESIGN §9) — the
// server's own prober ("local" unless renamed with --location) or an agent's site.
const (
	MaxLocationLength    = 32
	MaxLocationsPerGroup = 16
	DefaultOwnLocation   = "local" // the server's own prober when --location is not given
)

// ValidLocation reports whether name can name a location: 1-32 of a-z, 0-9 and "-",
// so it is a token of the bus's subjects and reads well as a column header.
func ValidLocation(name string) bool {
	if name == "" || len(name) > MaxLocationLength {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// CheckLocation refuses a name ValidLocation refuses; the error names field.
func CheckLocation(field, name string) error {
	if !ValidLocation(name) {
		return Invalid(field, "must be 1-%d characters of a-z, 0-9 and -; got %q", MaxLocationLength, name)
	}
	return nil
}

// CheckLocations checks the list of locations a group is to be probed from: 1 to
// MaxLocationsPerGroup distinct, valid names. Whether each is a location pingdeck
// knows is the caller's question (it depends on the enrolled agents).
func CheckLocations(names []string) error {
	switch {
	case len(names) == 0:
		return Invalid("locations", "must name at least one location")
	case len(names) > MaxLocationsPerGroup:
		return Invalid("locations", "must name at most %d locations", MaxLocationsPerGroup)
	}
	for i, name := range names {
		if err := CheckLocation("locations", name); err != nil {
			return err
		}
		if slices.Contains(names[:i], name) {
			return Invalid("locations", "names %q twice", name)
		}
	}
	return nil
}

// ProbeLocations is where g is probed from: its Locations, or just own (the server's
// own prober) when it names none. Groups read from the store always name theirs.
func (g *Group) ProbeLocations(own string) []string {
	if len(g.Locations) == 0 {
		return []string{own}
	}
	return slices.Clone(g.Locations)
}
