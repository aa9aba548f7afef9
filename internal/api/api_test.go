package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"go.yaml.in/yaml/v3"

	"github.com/ecs-reworked/ecs-reworked/internal/orders"
	"github.com/ecs-reworked/ecs-reworked/internal/orders/ordersdb"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// client drives a Handler in process and checks every response against the OpenAPI document.
type client struct {
	t       *testing.T
	handler http.Handler
	spec    validator.Validator
}

func newSpecValidator(t testing.TB) validator.Validator {
	t.Helper()
	doc, err := libopenapi.NewDocument(OpenAPI())
	if err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("openapi.yaml: %v", errs)
	}
	return v
}

// newClient returns a client of an API backed by the real store on a database of the test's own.
func newClient(t *testing.T) (*client, *pgxpool.Pool) {
	t.Helper()
	db := dbtest.NewDatabase(t)
	pool := dbtest.Connect(t, db.DSNFor(migrations.OrdersRole))
	return newClientFor(t, pool), pool
}

func newClientFor(t *testing.T, pool *pgxpool.Pool) *client {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	return &client{t: t, handler: New(orders.NewService(ordersdb.New(pool), log), log), spec: newSpecValidator(t)}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode response %s: %v", r.body, err)
	}
}

// do sends a request and validates the response against the document (status declared, content type and body
// schema).
func (c *client) do(method, path string, body string, header ...string) response {
	c.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	c.handler.ServeHTTP(rec, req)
	res := rec.Result()
	out := response{status: res.StatusCode, header: res.Header, body: rec.Body.Bytes()}
	if res.StatusCode == http.StatusMethodNotAllowed || (res.StatusCode == http.StatusNotFound && !strings.HasPrefix(path, "/api/orders/")) {
		return out // not an operation of the document
	}
	vreq := httptest.NewRequest(method, path, strings.NewReader(body))
	vreq.Header = req.Header.Clone()
	res.Body = httpBody(out.body)
	if ok, errs := c.spec.ValidateHttpResponse(vreq, res); !ok {
		for _, e := range errs {
			c.t.Errorf("%s %s: response %d %s does not match openapi.yaml: %s (%s) %v", method, path, out.status, out.body, e.Message, e.Reason, e.SchemaValidationErrors)
		}
	}
	return out
}

func httpBody(b []byte) *readCloser { return &readCloser{bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

const validBody = `{"customer_email":"a@example.com","items":[{"sku":"SKU-1","quantity":2,"price_cents":1250},{"sku":"SKU-9","quantity":1,"price_cents":1}]}`

func TestOrderLifecycle(t *testing.T) {
	c, _ := newClient(t)
	res := c.do("POST", "/api/orders", validBody)
	if res.status != http.StatusCreated {
		t.Fatalf("POST /api/orders = %d %s; want 201", res.status, res.body)
	}
	var created orderJSON
	res.decode(t, &created)
	if got, want := res.header.Get("Location"), "/api/orders/"+created.ID; got != want {
		t.Errorf("Location = %q; want %q", got, want)
	}
	if created.Status != "pending" || created.TotalCents != 2501 || len(created.Items) != 2 || created.Items[1].SKU != "SKU-9" {
		t.Errorf("created order = %+v; want pending, total 2501, items in order", created)
	}

	res = c.do("GET", "/api/orders/"+created.ID, "")
	var got orderJSON
	res.decode(t, &got)
	if res.status != http.StatusOK {
		t.Fatalf("GET order = %d; want 200", res.status)
	}
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("GET order mismatch (-want +got):\n%s", diff)
	}

	res = c.do("GET", "/api/orders?status=pending&limit=5", "")
	var list orderListJSON
	res.decode(t, &list)
	if res.status != http.StatusOK || len(list.Orders) != 1 || list.Orders[0].ID != created.ID || list.NextCursor != "" {
		t.Errorf("GET /api/orders = %d %s; want the one order", res.status, res.body)
	}
	res = c.do("GET", "/api/orders?status=fulfilled", "")
	res.decode(t, &list)
	if res.status != http.StatusOK || len(list.Orders) != 0 || !bytes.Contains(res.body, []byte(`"orders":[]`)) {
		t.Errorf("GET /api/orders?status=fulfilled = %d %s; want an empty list", res.status, res.body)
	}

	res = c.do("GET", "/api/orders/"+created.ID+"/notifications", "")
	if res.status != http.StatusOK || !bytes.Contains(res.body, []byte(`"notifications":[]`)) {
		t.Errorf("GET notifications = %d %s; want an empty list", res.status, res.body)
	}
}

func TestPagination(t *testing.T) {
	c, _ := newClient(t)
	var want []string
	for range 5 {
		res := c.do("POST", "/api/orders", validBody)
		var o orderJSON
		res.decode(t, &o)
		want = append([]string{o.ID}, want...)
	}
	var got []string
	path := "/api/orders?limit=2"
	for range 5 {
		res := c.do("GET", path, "")
		var list orderListJSON
		res.decode(t, &list)
		for _, o := range list.Orders {
			got = append(got, o.ID)
		}
		if list.NextCursor == "" {
			break
		}
		path = "/api/orders?limit=2&cursor=" + list.NextCursor
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages mismatch (-want +got):\n%s", diff)
	}
}

func TestIdempotencyKey(t *testing.T) {
	c, _ := newClient(t)
	first := c.do("POST", "/api/orders", validBody, "Idempotency-Key", "abc-123")
	if first.status != http.StatusCreated {
		t.Fatalf("first POST = %d %s; want 201", first.status, first.body)
	}
	var want orderJSON
	first.decode(t, &want)

	// The same request with other whitespace and member order is the same request.
	same := `{ "items": [{"price_cents":1250,"quantity":2,"sku":"SKU-1"},{"sku":"SKU-9","quantity":1,"price_cents":1}], "customer_email": "a@example.com" }`
	for _, body := range []string{validBody, same} {
		res := c.do("POST", "/api/orders", body, "Idempotency-Key", "abc-123")
		var got orderJSON
		res.decode(t, &got)
		if res.status != http.StatusOK || res.header.Get("Idempotent-Replayed") != "true" || res.header.Get("Location") != "/api/orders/"+want.ID {
			t.Errorf("replayed POST = %d %v; want 200, Idempotent-Replayed: true and the first order's Location", res.status, res.header)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("replayed POST mismatch (-want +got):\n%s", diff)
		}
	}

	other := strings.Replace(validBody, `"quantity":2`, `"quantity":3`, 1)
	res := c.do("POST", "/api/orders", other, "Idempotency-Key", "abc-123")
	if res.status != http.StatusConflict || !strings.Contains(string(res.body), `"field":"Idempotency-Key"`) {
		t.Errorf("POST with reused key = %d %s; want 409 naming Idempotency-Key", res.status, res.body)
	}

	res = c.do("POST", "/api/orders", validBody)
	if res.status != http.StatusCreated {
		t.Errorf("POST without a key after a keyed one = %d; want 201 (a new order)", res.status)
	}
}

func TestBadInput(t *testing.T) {
	c, _ := newClient(t)
	item := `{"sku":"SKU-1","quantity":1,"price_cents":1}`
	manyItems := "[" + strings.Repeat(item+",", orders.MaxItems) + item + "]"
	tests := []struct {
		name, method, path, body string
		header                   []string
		status                   int
		field                    string
	}{
		{"malformed JSON", "POST", "/api/orders", `{"customer_email":`, nil, 400, "body"},
		{"not JSON at all", "POST", "/api/orders", `hello`, nil, 400, "body"},
		{"empty body", "POST", "/api/orders", ``, nil, 400, "body"},
		{"array body", "POST", "/api/orders", `[]`, nil, 400, "body"},
		{"trailing data", "POST", "/api/orders", validBody + `{}`, nil, 400, "body"},
		{"unknown field", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[` + item + `],"coupon":"x"}`, nil, 400, "coupon"},
		{"unknown item field", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[` + item + `,{"sku":"A","quantity":1,"price_cents":1,"color":"red"}]}`, nil, 400, "items[1].color"},
		{"email wrong type", "POST", "/api/orders", `{"customer_email":7,"items":[` + item + `]}`, nil, 400, "customer_email"},
		{"items wrong type", "POST", "/api/orders", `{"customer_email":"a@example.com","items":{}}`, nil, 400, "items"},
		{"item wrong type", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[` + item + `,` + item + `,"x"]}`, nil, 400, "items[2]"},
		{"quantity as string", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[` + item + `,` + item + `,{"sku":"A","quantity":"2","price_cents":1}]}`, nil, 400, "items[2].quantity"},
		{"quantity fractional", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[{"sku":"A","quantity":1.5,"price_cents":1}]}`, nil, 400, "items[0].quantity"},
		{"quantity null", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[{"sku":"A","quantity":null,"price_cents":1}]}`, nil, 400, "items[0].quantity"},
		{"price as bool", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[{"sku":"A","quantity":1,"price_cents":true}]}`, nil, 400, "items[0].price_cents"},
		{"negative quantity", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[{"sku":"A","quantity":-1,"price_cents":1}]}`, nil, 422, "items[0].quantity"},
		{"huge quantity", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[{"sku":"A","quantity":99999999999999999999999,"price_cents":1}]}`, nil, 422, "items[0].quantity"},
		{"quantity over int32", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[{"sku":"A","quantity":4294967297,"price_cents":1}]}`, nil, 422, "items[0].quantity"},
		{"negative price", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[{"sku":"A","quantity":1,"price_cents":-5}]}`, nil, 422, "items[0].price_cents"},
		{"huge price", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[{"sku":"A","quantity":1,"price_cents":9223372036854775807}]}`, nil, 422, "items[0].price_cents"},
		{"bad sku", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[{"sku":"a b","quantity":1,"price_cents":1}]}`, nil, 422, "items[0].sku"},
		{"bad email", "POST", "/api/orders", `{"customer_email":"nope","items":[` + item + `]}`, nil, 422, "customer_email"},
		{"missing items", "POST", "/api/orders", `{"customer_email":"a@example.com"}`, nil, 422, "items"},
		{"too many items", "POST", "/api/orders", `{"customer_email":"a@example.com","items":` + manyItems + `}`, nil, 422, "items"},
		{"oversized body", "POST", "/api/orders", `{"customer_email":"a@example.com","items":[` + item + `],"x":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, nil, 413, "body"},
		{"not JSON content type", "POST", "/api/orders", validBody, []string{"Content-Type", "text/plain"}, 415, "Content-Type"},
		{"bad idempotency key", "POST", "/api/orders", validBody, []string{"Idempotency-Key", "has space"}, 400, "Idempotency-Key"},
		{"empty idempotency key", "POST", "/api/orders", validBody, []string{"Idempotency-Key", ""}, 400, "Idempotency-Key"},
		{"long idempotency key", "POST", "/api/orders", validBody, []string{"Idempotency-Key", strings.Repeat("k", 256)}, 400, "Idempotency-Key"},
		{"bad cursor", "GET", "/api/orders?cursor=garbage", "", nil, 400, "cursor"},
		{"forged cursor", "GET", "/api/orders?cursor=WyIxIiwieCJd", "", nil, 400, "cursor"},
		{"cursor with a urn:uuid id", "GET", "/api/orders?cursor=WyIxIiwidXJuOnV1aWQ6MDE5NWExYjItYzNkNC03ZTVmLThhOWItMGMxZDJlM2Y0YTViIl0", "", nil, 400, "cursor"},
		{"bad limit", "GET", "/api/orders?limit=ten", "", nil, 400, "limit"},
		{"zero limit", "GET", "/api/orders?limit=0", "", nil, 400, "limit"},
		{"limit too large", "GET", "/api/orders?limit=101", "", nil, 400, "limit"},
		{"bad status", "GET", "/api/orders?status=shipped", "", nil, 400, "status"},
		{"order id not a uuid", "GET", "/api/orders/42", "", nil, 404, ""},
		{"order id as urn:uuid", "GET", "/api/orders/urn:uuid:0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "", nil, 404, ""},
		{"order id in braces", "GET", "/api/orders/%7B0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b%7D", "", nil, 404, ""},
		{"order id without hyphens", "GET", "/api/orders/0195a1b2c3d47e5f8a9b0c1d2e3f4a5b", "", nil, 404, ""},
		{"notifications of a urn:uuid id", "GET", "/api/orders/urn:uuid:0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/notifications", "", nil, 404, ""},
		{"unknown order", "GET", "/api/orders/0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "", nil, 404, ""},
		{"notifications of unknown order", "GET", "/api/orders/0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/notifications", "", nil, 404, ""},
		{"unknown path", "GET", "/api/nope", "", nil, 404, ""},
		{"wrong method", "DELETE", "/api/orders", "", nil, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			res := c.do(tt.method, tt.path, tt.body, tt.header...)
			if res.status != tt.status {
				t.Errorf("%s %s = %d %s; want %d", tt.method, tt.path, res.status, res.body, tt.status)
			}
			if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q; want application/problem+json", ct)
			}
			var p problem
			res.decode(t, &p)
			if p.Status != tt.status || p.Title == "" || p.Type == "" {
				t.Errorf("problem = %+v; want status %d with type and title", p, tt.status)
			}
			if tt.field == "" {
				return
			}
			var fields []string
			for _, e := range p.Errors {
				fields = append(fields, e.Field)
			}
			if !slices.Contains(fields, tt.field) {
				t.Errorf("problem names fields %v; want %s (%s)", fields, tt.field, res.body)
			}
		})
	}
}

func TestDatabaseUnavailable(t *testing.T) {
	// A pool whose server is gone: nothing listens on the port.
	pool, err := pgxpool.New(context.Background(), "postgres://u:p@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c := newClientFor(t, pool)
	for _, rq := range []struct{ method, path, body string }{
		{"POST", "/api/orders", validBody},
		{"GET", "/api/orders", ""},
		{"GET", "/api/orders/0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", ""},
	} {
		res := c.do(rq.method, rq.path, rq.body)
		if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" {
			t.Errorf("%s %s with the database down = %d %v %s; want 503 with Retry-After", rq.method, rq.path, res.status, res.header, res.body)
		}
	}
}

// platformRoutes are served beside the API by the binary (package health), and described by the same document.
var platformRoutes = []string{"GET /healthz", "GET /readyz"}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q; want 3.1", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	served := slices.Clone(platformRoutes)
	for _, rt := range New(nil, slog.New(slog.DiscardHandler)).routes() {
		served = append(served, rt.method+" "+rt.path)
	}
	slices.Sort(documented)
	slices.Sort(served)
	if diff := cmp.Diff(served, documented); diff != "" {
		t.Errorf("routes served (-) and documented (+) differ:\n%s", diff)
	}

	v := newSpecValidator(t)
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("openapi.yaml is not a valid OpenAPI document: %s: %s", e.Message, e.Reason)
		}
	}
}

func TestServesOpenAPI(t *testing.T) {
	h := New(nil, slog.New(slog.DiscardHandler))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/openapi.yaml", nil))
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), OpenAPI()) {
		t.Errorf("GET /api/openapi.yaml = %d, %d bytes; want 200 and the document", rec.Code, rec.Body.Len())
	}
}

func TestAbandonedRequestIsNotAServerError(t *testing.T) {
	c, _ := newClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", "/api/orders", nil)
	rec := httptest.NewRecorder()
	c.handler.ServeHTTP(rec, req)
	if rec.Code == http.StatusInternalServerError || rec.Code == http.StatusOK {
		t.Errorf("GET /api/orders with the client gone = %d; want neither 200 nor 500", rec.Code)
	}
}
