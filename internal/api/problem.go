package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/ecs-reworked/ecs-reworked/internal/orders"
)

// Problem types (RFC 9457). Statuses whose meaning is fully given by the status code use about:blank; the
// others are relative URIs documented in the OpenAPI document.
const (
	typeBlank               = "about:blank"
	typeInvalidRequest      = "/api/problems/invalid-request"
	typeValidation          = "/api/problems/validation"
	typeIdempotencyConflict = "/api/problems/idempotency-conflict"
	typeUnavailable         = "/api/problems/unavailable"
)

// problem is an application/problem+json document (RFC 9457) with an extension member errors that names every
// offending field.
type problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Errors []fieldProblem `json:"errors,omitempty"`
}

type fieldProblem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func fieldProblems(fes []orders.FieldError) []fieldProblem {
	out := make([]fieldProblem, len(fes))
	for i, fe := range fes {
		out[i] = fieldProblem{Field: fe.Field, Reason: fe.Reason}
	}
	return out
}

func writeProblem(w http.ResponseWriter, p problem) {
	if p.Type == "" {
		p.Type = typeBlank
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// retryAfterSeconds is what a client is told to wait when the database is unavailable.
const retryAfterSeconds = 2

// writeError answers the problem for an error returned by decoding or by the service. Only unexpected errors
// are logged (at error level): the others are the client's.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var reqErr *requestError
	var valErr *orders.ValidationError
	switch {
	case errors.As(err, &reqErr):
		writeProblem(w, problem{Type: typeInvalidRequest, Title: "The request could not be read", Status: http.StatusBadRequest,
			Detail: reqErr.problems[0].Field + ": " + reqErr.problems[0].Reason, Errors: fieldProblems(reqErr.problems)})
	case errors.As(err, &valErr):
		writeProblem(w, problem{Type: typeValidation, Title: "The request is invalid", Status: http.StatusUnprocessableEntity,
			Detail: valErr.Problems[0].Field + ": " + valErr.Problems[0].Reason, Errors: fieldProblems(valErr.Problems)})
	case errors.Is(err, orders.ErrNotFound):
		writeProblem(w, problem{Status: http.StatusNotFound, Detail: "no order with this id"})
	case errors.Is(err, orders.ErrIdempotencyConflict):
		writeProblem(w, problem{Type: typeIdempotencyConflict, Title: "Idempotency key reused", Status: http.StatusConflict,
			Detail: "this Idempotency-Key was first used with a different request body",
			Errors: []fieldProblem{{Field: "Idempotency-Key", Reason: "already used with a different request"}}})
	case errors.Is(err, orders.ErrUnavailable):
		h.log.WarnContext(r.Context(), "database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		writeProblem(w, problem{Type: typeUnavailable, Title: "Service unavailable", Status: http.StatusServiceUnavailable,
			Detail: "the database is unavailable; retry later"})
	case r.Context().Err() != nil:
		// The client went away or the server is shutting down; nobody reads this answer.
		h.log.DebugContext(r.Context(), "request abandoned", "method", r.Method, "path", r.URL.Path, "err", err)
		writeProblem(w, problem{Status: http.StatusServiceUnavailable, Detail: "the request was abandoned"})
	default:
		h.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeProblem(w, problem{Status: http.StatusInternalServerError})
	}
}
