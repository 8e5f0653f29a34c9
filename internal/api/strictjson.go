package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"pingdeck/internal/groups"
)

// checkStrictJSON walks body's JSON once against the shape of dst's type and refuses
// what encoding/json would quietly accept: a key that matches a field only when case
// is ignored ({"Name":…} taken as name), a key given twice in one object (the last one
// silently winning), and bytes that are not UTF-8 (turned into U+FFFD). The error names
// the field (bytes that are not UTF-8 outside any string: the body). Malformed JSON is
// left for the decoder to report.
//
// encoding/json/v2 does this by default but needs GOEXPERIMENT=jsonv2 on Go 1.26.
func checkStrictJSON(body []byte, dst any) error {
	w := strictWalker{dec: json.NewDecoder(bytes.NewReader(body)), badUTF8: int64(invalidUTF8At(body))}
	w.dec.UseNumber()
	if err := w.value(reflect.TypeOf(dst), "", 0); err != nil && err != errMalformed {
		return err
	}
	if w.badUTF8 >= 0 {
		return groups.Invalid("body", "is not valid UTF-8 (byte %d)", w.badUTF8)
	}
	return nil
}

// errMalformed stops the walk at a syntax error, which the decoder then reports.
var errMalformed = errors.New("api: malformed JSON")

const (
	// maxFieldNameInError bounds how much of a client's key an error repeats.
	maxFieldNameInError = 64
	// maxJSONDepth bounds nesting (request bodies are two levels deep) and so the walk's
	// recursion: a megabyte of '[' would otherwise be half a million frames.
	maxJSONDepth = 32
)

type strictWalker struct {
	dec     *json.Decoder
	badUTF8 int64 // offset of the first byte that is not UTF-8, or -1
}

// value reads one JSON value at path and nesting depth, which decodes into a t (nil:
// anything).
func (w *strictWalker) value(t reflect.Type, path string, depth int) error {
	t = indirect(t)
	start := w.dec.InputOffset()
	tok, err := w.dec.Token()
	if err != nil {
		return errMalformed
	}
	if tok == json.Delim('{') || tok == json.Delim('[') {
		if depth++; depth > maxJSONDepth {
			return groups.Invalid(fieldOr(path), "is nested more than %d levels deep", maxJSONDepth)
		}
	}
	switch tok {
	case json.Delim('{'):
		return w.object(t, path, depth)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && !isCustom(t) {
			elem = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(elem, path+"["+strconv.Itoa(i)+"]", depth); err != nil {
				return err
			}
		}
		if _, err := w.dec.Token(); err != nil {
			return errMalformed
		}
	case json.Delim('}'), json.Delim(']'):
		return errMalformed
	default:
		if _, ok := tok.(string); ok && w.holdsBadUTF8(start) {
			return groups.Invalid(fieldOr(path), "is not valid UTF-8")
		}
	}
	return nil
}

// object reads the members of an object whose '{' was just read.
func (w *strictWalker) object(t reflect.Type, path string, depth int) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil && !isCustom(t) {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	seen := map[string]bool{}
	for w.dec.More() {
		start := w.dec.InputOffset()
		tok, err := w.dec.Token()
		if err != nil {
			return errMalformed
		}
		key, ok := tok.(string)
		if !ok {
			return errMalformed
		}
		field := joinPath(path, key)
		switch {
		case w.holdsBadUTF8(start):
			return groups.Invalid(fieldOr(path), "has a key that is not valid UTF-8")
		case seen[key]:
			return groups.Invalid(field, "is given more than once")
		}
		seen[key] = true
		valueType := elem
		if fields != nil {
			ft, exact := fields[key]
			if !exact {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return groups.Invalid(field, "is not a field; names are case-sensitive: did you mean %q?", joinPath(path, name))
					}
				}
				return groups.Invalid(field, "unknown field")
			}
			valueType = ft
		}
		if err := w.value(valueType, field, depth); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return errMalformed
	}
	return nil
}

// holdsBadUTF8 reports whether the token read from start to the decoder's offset holds
// the first byte that is not UTF-8.
func (w *strictWalker) holdsBadUTF8(start int64) bool {
	return w.badUTF8 >= start && w.badUTF8 < w.dec.InputOffset()
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

func joinPath(path, key string) string {
	if len(key) > maxFieldNameInError {
		key = strings.ToValidUTF8(key[:maxFieldNameInError], "") + "…"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func fieldOr(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// isCustom reports whether t decodes itself, so its JSON shape is its own business
// (still checked for duplicate keys and UTF-8).
func isCustom(t reflect.Type) bool {
	return t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)
}

func indirect(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && t.Kind() == reflect.Interface {
		return nil
	}
	return t
}

// jsonFields is the exact JSON names of t's fields, as encoding/json sees them.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && indirect(f.Type) != nil && indirect(f.Type).Kind() == reflect.Struct {
			continue // its fields are promoted, and listed by VisibleFields
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
