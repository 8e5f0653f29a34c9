package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"pingdeck/internal/groups"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// limitBody caps request bodies; reading past the cap fails with *http.MaxBytesError.
func limitBody(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
	c.Next()
}

// decodeJSON reads exactly one JSON object into dst: unknown fields, keys that match a
// field only when case is ignored, repeated keys, bytes that are not UTF-8, trailing
// data and type mismatches are errors that name the field.
func decodeJSON(c *gin.Context, dst any) error {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return err // *http.MaxBytesError → 413
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return groups.Invalid("body", "a JSON object is required")
	}
	if err := checkStrictJSON(body, dst); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return groups.Invalid("body", "unexpected data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var fieldErr *fieldError
	switch {
	case errors.As(err, &fieldErr):
		return groups.Invalid(fieldErr.field, "%s", fieldErr.msg)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		switch typeErr.Type {
		case durationType:
			return groups.Invalid(field, "must be a duration such as \"500ms\" or \"2s\", or a number of milliseconds")
		case targetListType:
			return groups.Invalid(field, "must be a list of strings or one string of pasted targets")
		}
		if field == "" {
			field = "body"
		}
		return groups.Invalid(field, "must be %s, not %s", jsonTypeName(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return groups.Invalid("body", "malformed JSON at byte %d: %v", syntaxErr.Offset, err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return groups.Invalid(field, "unknown field")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return groups.Invalid("body", "truncated JSON")
	}
	return groups.Invalid("body", "%v", err)
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "a list"
	case "struct", "map":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number"
	}
	return "a number"
}

// fieldError is returned by custom JSON decoders so the message names the field.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return fmt.Sprintf("%s: %s", e.field, e.msg) }

// pathUUID reads a UUID path parameter, canonical lowercase.
func pathUUID(c *gin.Context, name string) (string, error) {
	raw := c.Param(name)
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return "", groups.Invalid(name, "must be a UUID like 7c9e6679-7425-40de-944b-e07fc1f90ae7")
	}
	return id.String(), nil
}
