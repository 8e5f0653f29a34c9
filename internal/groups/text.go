package groups

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanName trims a name a person gives something others will see — a group, a display
// name, an API token — and checks it: required, at most maxRunes characters, one line
// of visible text. Control characters are refused, and so are invisible formatting
// characters: bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
// U+061C), which can make a name read differently from what it is ("Trojan Source",
// CVE-2021-42574), and zero-width characters (U+200B–U+200D, U+2060, U+FEFF), which let
// two names that look the same differ. The error names field.
func CleanName(field, name string, maxRunes int) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", Invalid(field, "is required")
	case utf8.RuneCountInString(name) > maxRunes:
		return "", Invalid(field, "is longer than %d characters", maxRunes)
	}
	if err := checkText(field, name, false); err != nil {
		return "", err
	}
	return name, nil
}

// checkText refuses text that is not UTF-8 or holds a character checkText's callers
// must not show: see CleanName. multiline allows line breaks and tabs.
func checkText(field, s string, multiline bool) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "is not valid UTF-8")
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if what := hiddenRune(r); what != "" {
			return Invalid(field, "must not contain %s (%U)", what, r)
		}
	}
	return nil
}

// hiddenRune says what kind of character r is when it does not show as itself, or "".
func hiddenRune(r rune) string {
	switch {
	case r == '\u061c' || r == '\u200e' || r == '\u200f' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069'):
		return "a bidirectional text control"
	case (r >= '\u200b' && r <= '\u200d') || r == '\u2060' || r == '\ufeff':
		return "a zero-width character"
	case unicode.IsControl(r):
		return "a control character"
	case unicode.In(r, unicode.Zl, unicode.Zp):
		return "a line or paragraph separator"
	case unicode.Is(unicode.Cf, r):
		return "an invisible formatting character"
	}
	return ""
}
