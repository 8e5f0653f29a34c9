package groups

import (
	"errors"
	"fmt"
)

// Error kinds. Every error the domain and its adapters return to a caller wraps exactly one
// of these, so the HTTP layer can map it to a status without knowing where it came from.
var (
	ErrInvalid         = errors.New("invalid")
	ErrNotFound        = errors.New("not found")
	ErrForbidden       = errors.New("forbidden")
	ErrConflict        = errors.New("conflict")
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrRateLimited     = errors.New("rate limited")
	ErrNotImplemented  = errors.New("not implemented")
	// ErrQuotaExceeded: the request would take its owner past a per-user limit
	// (--max-groups-per-user, --max-targets-per-user).
	ErrQuotaExceeded = errors.New("quota exceeded")
)

// Error is a user-facing error: a kind, the request field it is about (if any) and a
// message a person can act on.
type Error struct {
	Kind    error
	Field   string
	Message string
	Details map[string]any
}

// Error returns "field: message" (or just the message).
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Unwrap lets errors.Is match the kind.
func (e *Error) Unwrap() error { return e.Kind }

// Invalid reports a bad value in field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: ErrInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports that what (e.g. "group") does not exist or is not visible to the caller.
func NotFound(what string) *Error {
	return &Error{Kind: ErrNotFound, Message: what + " not found"}
}

// Forbidden reports that the caller may see the object but not do this to it.
func Forbidden(format string, args ...any) *Error {
	return &Error{Kind: ErrForbidden, Message: fmt.Sprintf(format, args...)}
}

// Conflict reports that the request collides with existing state.
func Conflict(field, format string, args ...any) *Error {
	return &Error{Kind: ErrConflict, Field: field, Message: fmt.Sprintf(format, args...)}
}

// QuotaExceeded reports that the request would take a user past a per-user limit of
// limit; the message should name the limit's flag.
func QuotaExceeded(limit int, format string, args ...any) *Error {
	return &Error{Kind: ErrQuotaExceeded, Message: fmt.Sprintf(format, args...), Details: map[string]any{"limit": limit}}
}
