package api

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strconv"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
)

// errorBody is the JSON every error response carries.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

var errorKinds = []struct {
	kind   error
	status int
	code   string
}{
	{groups.ErrInvalid, http.StatusBadRequest, "invalid"},
	{groups.ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated"},
	{auth.ErrPasswordChangeRequired, http.StatusForbidden, "password_change_required"},
	{groups.ErrForbidden, http.StatusForbidden, "forbidden"},
	{groups.ErrNotFound, http.StatusNotFound, "not_found"},
	{groups.ErrConflict, http.StatusConflict, "conflict"},
	{groups.ErrRateLimited, http.StatusTooManyRequests, "rate_limited"},
	{groups.ErrQuotaExceeded, http.StatusForbidden, "quota_exceeded"},
	{groups.ErrNotImplemented, http.StatusNotImplemented, "not_implemented"},
}

// writeError is the one place errors become responses: domain kinds map to a status and
// code; anything else is a 500 that says "internal error" to the user and is logged.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	status, body := http.StatusInternalServerError, errorDetail{Code: "internal", Message: "internal error"}
	var tooBig *http.MaxBytesError
	var de *groups.Error
	switch {
	case errors.As(err, &tooBig):
		status, body = http.StatusRequestEntityTooLarge, errorDetail{Code: "too_large",
			Message: "request body is larger than " + strconv.FormatInt(tooBig.Limit, 10) + " bytes"}
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The server's per-request read deadline passed while the body trickled in; the
		// connection cannot be reused (the rest of the body is unread).
		status, body = http.StatusRequestTimeout, errorDetail{Code: "request_timeout",
			Message: "the request body did not arrive in time; send it at once"}
		c.Header("Connection", "close")
	default:
		for _, k := range errorKinds {
			if errors.Is(err, k.kind) {
				status, body = k.status, errorDetail{Code: k.code, Message: k.kind.Error()}
				break
			}
		}
		if status != http.StatusInternalServerError && errors.As(err, &de) {
			body.Message = de.Error()
			body.Details = de.Details
			if de.Field != "" {
				if body.Details == nil {
					body.Details = map[string]any{}
				}
				body.Details["field"] = de.Field
			}
		}
	}
	if status >= 500 && status != http.StatusNotImplemented {
		log.Error("request failed", "method", c.Request.Method, "path", c.FullPath(), "err", err)
	}
	if secs, ok := body.Details["retry_after_seconds"].(int); ok {
		c.Header("Retry-After", strconv.Itoa(secs))
	}
	c.AbortWithStatusJSON(status, errorBody{Error: body})
}
