package groups

import (
	"errors"
	"strings"
	"testing"
)

// TestCleanNameRefusesHiddenCharacters: names are shown to other people, so a name that
// reads differently from what it is (bidi overrides) or two names that look the same
// but differ (zero-width characters) are refused, naming the field and the character.
func TestCleanNameRefusesHiddenCharacters(t *testing.T) {
	for _, bad := range []struct{ name, in, want string }{
		{"RLO override", "invoice\u202egpj.exe", "U+202E"},
		{"LRE embedding", "a\u202ab", "U+202A"},
		{"PDF", "a\u202cb", "U+202C"},
		{"RLI isolate", "a\u2067b", "U+2067"},
		{"PDI", "a\u2069b", "U+2069"},
		{"LRM", "a\u200eb", "U+200E"},
		{"RLM", "a\u200fb", "U+200F"},
		{"Arabic letter mark", "a\u061cb", "U+061C"},
		{"zero-width space", "ad\u200bmin", "U+200B"},
		{"ZWNJ", "a\u200cb", "U+200C"},
		{"ZWJ", "a\u200db", "U+200D"},
		{"word joiner", "a\u2060b", "U+2060"},
		{"BOM", "\ufeffcore", "U+FEFF"},
		{"soft hyphen", "co\u00adre", "U+00AD"},
		{"tag character", "a\U000E0041b", "U+E0041"},
		{"line separator", "a\u2028b", "U+2028"},
		{"newline", "core\nrouters", "U+000A"},
		{"tab", "core\trouters", "U+0009"},
		{"NUL", "core\x00", "U+0000"},
		{"DEL", "core\x7f", "U+007F"},
		{"C1 control", "co\u0085re", "U+0085"},
		{"not UTF-8", "core\xff", "UTF-8"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := CleanName("display_name", bad.in, MaxNameLength)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || e.Field != "display_name" || !strings.Contains(e.Message, bad.want) {
				t.Fatalf("CleanName(%q) = %v, want invalid display_name mentioning %s", bad.in, err, bad.want)
			}
		})
	}
	for _, good := range []string{"core routers", "Zürich edge", "東京 DC", "שרתים", "خوادم", "rack 7 🔥", "a-b_c.d (prod)", "  padded  "} {
		got, err := CleanName("name", good, MaxNameLength)
		if err != nil || got != strings.TrimSpace(good) {
			t.Errorf("CleanName(%q) = %q, %v; want it accepted and trimmed", good, got, err)
		}
	}
	if _, err := CleanName("name", " \t ", MaxNameLength); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("blank name: %v, want required", err)
	}
	if _, err := CleanName("name", strings.Repeat("é", MaxNameLength+1), MaxNameLength); err == nil {
		t.Error("a name one character too long was accepted")
	}
}

// TestMessagesRefuseHiddenCharactersButKeepLines: a notification message may have line
// breaks and tabs, but not the characters names refuse.
func TestMessagesRefuseHiddenCharactersButKeepLines(t *testing.T) {
	if msg, err := CleanMessage("look at\n\tthis"); err != nil || msg != "look at\n\tthis" {
		t.Fatalf("CleanMessage = %q, %v", msg, err)
	}
	for _, bad := range []string{"look \u202eereh", "look\u200b here", "\ufefflook", "bell\a"} {
		_, err := CleanMessage(bad)
		var e *Error
		if !errors.As(err, &e) || e.Field != "message" {
			t.Errorf("CleanMessage(%q) = %v, want invalid message", bad, err)
		}
	}
}
