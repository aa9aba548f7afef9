// Package api is the HTTP layer of the orders service: its routes, the JSON request and response types, strict
// request decoding, and the mapping of domain errors to application/problem+json answers (RFC 9457). The
// contract is the OpenAPI document openapi.yaml, embedded and served at /api/openapi.yaml; a test keeps the two
// in step.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/orders"
)

// MaxBodyBytes is the largest request body accepted; a larger one is answered 413. The largest valid order (50
// items) is well below it.
const MaxBodyBytes = 64 << 10

// maxIdempotencyKeyLen bounds the Idempotency-Key header.
const maxIdempotencyKeyLen = 255

//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPI returns the OpenAPI 3.1 document that describes the API.
func OpenAPI() []byte { return openAPIDocument }

// Orders is what the HTTP layer needs from the domain; *orders.Service implements it.
type Orders interface {
	Place(ctx context.Context, n orders.NewOrder, idempotencyKey string) (orders.Order, bool, error)
	Get(ctx context.Context, id string) (orders.Order, error)
	List(ctx context.Context, status orders.Status, limit int, cursor string) (orders.Page, error)
	Notifications(ctx context.Context, orderID string) ([]orders.Notification, error)
}

// Handler serves the orders API.
type Handler struct {
	orders Orders
	log    *slog.Logger
	mux    *http.ServeMux // the API alone, for ServeHTTP
}

// New returns a Handler serving svc.
func New(svc Orders, log *slog.Logger) *Handler {
	h := &Handler{orders: svc, log: log, mux: http.NewServeMux()}
	h.Register(h.mux)
	return h
}

// route is one operation of the API.
type route struct {
	method, path string
	handler      http.HandlerFunc
}

func (h *Handler) routes() []route {
	return []route{
		{http.MethodPost, "/api/orders", h.createOrder},
		{http.MethodGet, "/api/orders", h.listOrders},
		{http.MethodGet, "/api/orders/{id}", h.getOrder},
		{http.MethodGet, "/api/orders/{id}/notifications", h.listNotifications},
		{http.MethodGet, "/api/openapi.yaml", h.openAPI},
	}
}

// Register adds the API's routes to mux. Every path under /api/ that is not a route is answered with a 404
// problem, and a known path with another method with a 405 problem listing the allowed methods.
func (h *Handler) Register(mux *http.ServeMux) {
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range h.routes() {
		mux.HandleFunc(rt.method+" "+rt.path, rt.handler)
		if allowed[rt.path] == nil {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
		if rt.method == http.MethodGet {
			allowed[rt.path] = append(allowed[rt.path], http.MethodHead)
		}
	}
	for _, p := range paths {
		methods := allowed[p]
		mux.HandleFunc(p, func(w http.ResponseWriter, _ *http.Request) {
			for _, m := range methods {
				w.Header().Add("Allow", m)
			}
			writeProblem(w, problem{Status: http.StatusMethodNotAllowed})
		})
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, problem{Status: http.StatusNotFound, Detail: "no such resource"})
	})
}

// ServeHTTP serves the API alone, for tests and benchmarks.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// orderJSON is an order as the API shows it.
type orderJSON struct {
	ID            string     `json:"id"`
	CustomerEmail string     `json:"customer_email"`
	Items         []itemJSON `json:"items"`
	TotalCents    int64      `json:"total_cents"`
	Status        string     `json:"status"`
	StatusReason  string     `json:"status_reason,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

type itemJSON struct {
	SKU        string `json:"sku"`
	Quantity   int    `json:"quantity"`
	PriceCents int64  `json:"price_cents"`
}

type orderListJSON struct {
	Orders     []orderJSON `json:"orders"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

type notificationJSON struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Channel   string    `json:"channel"`
	Recipient string    `json:"recipient"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	SentAt    time.Time `json:"sent_at"`
}

type notificationListJSON struct {
	Notifications []notificationJSON `json:"notifications"`
}

func toJSON(o orders.Order) orderJSON {
	items := make([]itemJSON, len(o.Items))
	for i, it := range o.Items {
		items[i] = itemJSON(it)
	}
	return orderJSON{
		ID: o.ID, CustomerEmail: o.CustomerEmail, Items: items, TotalCents: o.TotalCents, Status: string(o.Status),
		StatusReason: o.StatusReason, CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(),
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// createOrder places an order. The first request with an Idempotency-Key is answered 201; a retry with the same
// key and the same body is answered 200 with the same order and the header Idempotent-Replayed: true; the same
// key with another body is answered 409.
func (h *Handler) createOrder(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(ct) {
		writeProblem(w, problem{Status: http.StatusUnsupportedMediaType, Detail: "the body must be application/json",
			Errors: []fieldProblem{{Field: "Content-Type", Reason: "must be application/json"}}})
		return
	}
	// A header sent empty is a bad key, not an absent one: the OpenAPI document requires length >= 1.
	keys := r.Header.Values("Idempotency-Key")
	key := ""
	if len(keys) == 1 {
		key = keys[0]
	}
	if len(keys) > 1 || (len(keys) == 1 && !validIdempotencyKey(key)) {
		h.writeError(w, r, &requestError{[]orders.FieldError{{Field: "Idempotency-Key",
			Reason: "must be 1-255 visible ASCII characters, sent once"}}})
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeProblem(w, problem{Status: http.StatusRequestEntityTooLarge,
				Detail: "the body is larger than " + strconv.Itoa(MaxBodyBytes) + " bytes",
				Errors: []fieldProblem{{Field: "body", Reason: "larger than " + strconv.Itoa(MaxBodyBytes) + " bytes"}}})
			return
		}
		writeProblem(w, problem{Type: typeInvalidRequest, Title: "The request could not be read", Status: http.StatusBadRequest,
			Detail: "reading the body failed", Errors: []fieldProblem{{Field: "body", Reason: "could not be read"}}})
		return
	}
	n, err := decodeNewOrder(body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	o, created, err := h.orders.Place(r.Context(), n, key)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/orders/"+o.ID)
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, status, toJSON(o))
}

func (h *Handler) getOrder(w http.ResponseWriter, r *http.Request) {
	o, err := h.orders.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toJSON(o))
}

func (h *Handler) listOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			h.writeError(w, r, &requestError{[]orders.FieldError{{Field: "limit", Reason: "must be an integer"}}})
			return
		}
		limit = n
		if n == 0 {
			limit = -1 // an explicit 0 is out of range, not the default
		}
	}
	page, err := h.orders.List(r.Context(), orders.Status(q.Get("status")), limit, q.Get("cursor"))
	if err != nil {
		var ve *orders.ValidationError
		if errors.As(err, &ve) {
			// Query parameters the service refuses are malformed requests (400), not semantic errors.
			err = &requestError{ve.Problems}
		}
		h.writeError(w, r, err)
		return
	}
	out := orderListJSON{Orders: make([]orderJSON, len(page.Orders)), NextCursor: page.Next}
	for i, o := range page.Orders {
		out.Orders[i] = toJSON(o)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) listNotifications(w http.ResponseWriter, r *http.Request) {
	ns, err := h.orders.Notifications(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := notificationListJSON{Notifications: make([]notificationJSON, len(ns))}
	for i, n := range ns {
		out.Notifications[i] = notificationJSON{ID: n.ID, Type: n.Type, Channel: n.Channel, Recipient: n.Recipient,
			Subject: n.Subject, Body: n.Body, SentAt: n.SentAt.UTC()}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPIDocument)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func validIdempotencyKey(key string) bool {
	if key == "" || len(key) > maxIdempotencyKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}
