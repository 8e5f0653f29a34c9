package api_test

import (
	"strings"
	"testing"
)

// TestStrictDecoding: encoding/json took {"Name":…} as name, let the last of two equal
// keys win, turned bytes that are not UTF-8 into U+FFFD, and names could hold bidi
// overrides and zero-width characters. Each is now a 400 naming the field, and nothing
// is created or changed.
func TestStrictDecoding(t *testing.T) {
	e := newEnv(t, sqliteDSN(t), options{})
	admin := e.login("admin")
	var g group
	admin.mustJSON("POST", "/api/v1/groups", map[string]any{"name": "core", "visibility": "public", "targets": "192.0.2.1"}, 201, &g)
	deep := `{"targets":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`
	longKey := strings.Repeat("k", 10000)
	for _, tc := range []struct {
		name, method, path, body, field, says string
	}{
		{"key in another case", "POST", "/api/v1/groups", `{"Name":"x"}`, "Name", `did you mean "name"`},
		{"key in upper case", "POST", "/api/v1/groups", `{"name":"x","VISIBILITY":"public"}`, "VISIBILITY", "case-sensitive"},
		{"key folded by Unicode (ſ, U+017F)", "POST", "/api/v1/groups", `{"name":"x","viſibility":"public"}`, "viſibility", "case-sensitive"},
		{"key given twice", "POST", "/api/v1/groups", `{"name":"a","name":"b"}`, "name", "more than once"},
		{"key given twice, once escaped", "POST", "/api/v1/groups", `{"name":"a","n\u0061me":"b"}`, "name", "more than once"},
		{"key twice on patch", "PATCH", "/api/v1/groups/" + g.ID, `{"paused":true,"paused":false}`, "paused", "more than once"},
		{"key twice on login", "POST", "/api/v1/auth/login", `{"username":"admin","password":"x","password":"admin-password"}`, "password", "more than once"},
		{"not UTF-8 in a name", "POST", "/api/v1/groups", "{\"name\":\"core\xff\"}", "name", "UTF-8"},
		{"not UTF-8 in a list", "POST", "/api/v1/groups", "{\"name\":\"x\",\"targets\":[\"192.0.2.1\",\"h\xc3\"]}", "targets[1]", "UTF-8"},
		{"not UTF-8 in a key", "POST", "/api/v1/groups", "{\"na\xffme\":\"x\"}", "body", "UTF-8"},
		{"not UTF-8 in a message", "POST", "/api/v1/notifications", "{\"to\":\"admin\",\"group_id\":\"" + g.ID + "\",\"message\":\"\xe2\x80\"}", "message", "UTF-8"},
		{"bidi override in a group name", "POST", "/api/v1/groups", `{"name":"core\u202egpj.exe"}`, "name", "U+202E"},
		{"bidi override, raw UTF-8", "POST", "/api/v1/groups", "{\"name\":\"core\u2067x\"}", "name", "U+2067"},
		{"zero-width space in a rename", "PATCH", "/api/v1/groups/" + g.ID, `{"name":"co\u200bre"}`, "name", "U+200B"},
		{"BOM in a token name", "POST", "/api/v1/tokens", `{"name":"\ufeffci"}`, "name", "U+FEFF"},
		{"zero-width joiner in a display name", "POST", "/api/v1/users", `{"username":"mallory","password":"mallory-pass","display_name":"ad\u200dmin"}`, "display_name", "U+200D"},
		{"bidi isolate in a message", "POST", "/api/v1/notifications", `{"to":"admin","group_id":"` + g.ID + `","message":"see \u2066this"}`, "message", "U+2066"},
		{"nested too deep", "POST", "/api/v1/groups", deep, "targets" + strings.Repeat("[0]", 31), "nested"},
		{"long unknown key is cut short in the error", "POST", "/api/v1/groups", `{"` + longKey + `":1}`, strings.Repeat("k", 64) + "…", "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := admin.in(t).mustError(tc.method, tc.path, tc.body, 400, "invalid", tc.field)
			if !strings.Contains(got.Error.Message, tc.says) {
				t.Fatalf("message %q does not say %q", got.Error.Message, tc.says)
			}
		})
	}
	// Nothing was created or changed.
	var list groupList
	admin.mustJSON("GET", "/api/v1/groups", nil, 200, &list)
	if len(list.Groups) != 1 || list.Groups[0].Name != "core" || list.Groups[0].Paused {
		t.Fatalf("groups after refused requests: %+v", list.Groups)
	}
	// What was accepted before still is: exact keys, escapes, any order, right-to-left
	// scripts and accents in names.
	admin.mustJSON("PATCH", "/api/v1/groups/"+g.ID, `{"name":"\u05e9\u05e8\u05ea\u05d9\u05dd Zürich","paused":false}`, 200, nil)
	admin.mustJSON("POST", "/api/v1/tokens", `{"expires_in":"1h","name":"ci"}`, 201, nil)
}
