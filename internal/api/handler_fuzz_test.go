package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/orders"
	"github.com/ecs-reworked/ecs-reworked/internal/orders/ordersdb"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

// FuzzHandler drives the whole API handler (routing, headers, decoding, the service and the real store on
// PostgreSQL) with any method, path, query, Idempotency-Key, content type and body, and checks that nothing
// is a server error and that every error is a problem document. `go test` runs the seeds below (make test);
// `go test -fuzz FuzzHandler ./internal/api` explores further.
func FuzzHandler(f *testing.F) {
	const id = "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	seeds := []struct {
		method         uint8
		target, key    string
		ctype, body    string
		sendKey, sendC bool
	}{
		{0, "/api/orders", "k1", "application/json", validBody, true, true},
		{0, "/api/orders", "", "application/json", validBody, true, true},
		{0, "/api/orders", "k2", "text/plain", validBody, true, true},
		{0, "/api/orders", "k 3", "application/json", validBody, true, true},
		{0, "/api/orders", "k4", "application/json", `{"customer_email":`, true, true},
		{0, "/api/orders", "k5", "application/json;charset=utf-8", `{"customer_email":"a@example.com","items":[{"sku":"A","quantity":1e400,"price_cents":1}]}`, true, true},
		{0, "/api/orders", "", "", "\xff\xfe", false, false},
		{1, "/api/orders/urn:uuid:" + id, "", "", "", false, false},
		{1, "/api/orders/{" + id + "}", "", "", "", false, false},
		{1, "/api/orders/" + strings.ReplaceAll(id, "-", ""), "", "", "", false, false},
		{1, "/api/orders/" + strings.ToUpper(id), "", "", "", false, false},
		{1, "/api/orders/" + id + "/notifications", "", "", "", false, false},
		{1, "/api/orders/urn:uuid:" + id + "/notifications", "", "", "", false, false},
		{1, "/api/orders/%00", "", "", "", false, false},
		{1, "/api/orders?cursor=WyIxIiwidXJuOnV1aWQ6MDE5NWExYjItYzNkNC03ZTVmLThhOWItMGMxZDJlM2Y0YTViIl0", "", "", "", false, false},
		{1, "/api/orders?cursor=WyI5MjIzMzcyMDM2ODU0Nzc1ODA3IiwiMDE5NWExYjItYzNkNC03ZTVmLThhOWItMGMxZDJlM2Y0YTViIl0", "", "", "", false, false},
		{1, "/api/orders?limit=-1&status=pending", "", "", "", false, false},
		{1, "/api/orders?limit=99999999999999999999", "", "", "", false, false},
		{1, "/api/orders?status=%ff", "", "", "", false, false},
		{1, "/api/openapi.yaml", "", "", "", false, false},
		{2, "/api/orders", "", "", "", false, false},
		{3, "/api/orders/" + id, "", "application/json", "{}", false, true},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.key, s.ctype, s.body, s.sendKey, s.sendC)
	}
	db := dbtest.NewDatabase(f)
	pool := dbtest.Connect(f, db.DSNFor(migrations.OrdersRole))
	log := slog.New(slog.DiscardHandler)
	h := New(orders.NewService(ordersdb.New(pool), log), log)
	methods := []string{http.MethodPost, http.MethodGet, http.MethodDelete, http.MethodPut, http.MethodHead}
	f.Fuzz(func(t *testing.T, method uint8, target, key, ctype, body string, sendKey, sendC bool) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(u.Path, "/") {
			return // not a request a server can receive
		}
		req := httptest.NewRequest(methods[int(method)%len(methods)], "/", strings.NewReader(body))
		req.URL, req.RequestURI = u, target
		if sendKey {
			req.Header["Idempotency-Key"] = []string{key}
		}
		if sendC {
			req.Header["Content-Type"] = []string{ctype}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q (key %q, type %q) body %q = %d %s; want no server error", req.Method, target, key, ctype, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && req.Method != http.MethodHead && strings.HasPrefix(u.Path, "/api/orders") {
			var p problem
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%s %q = %d with Content-Type %q; want application/problem+json", req.Method, target, rec.Code, ct)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || p.Title == "" {
				t.Fatalf("%s %q = %d %s; want a problem with status and title", req.Method, target, rec.Code, rec.Body)
			}
		}
	})
}
