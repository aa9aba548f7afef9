package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// orderAPI is a minimal orders API; failing makes /api/orders answer 500.
func orderAPI(failing bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case failing && strings.HasPrefix(r.URL.Path, "/api/"):
			http.Error(w, "boom", http.StatusInternalServerError)
		case r.URL.Path == "/healthz" || r.URL.Path == "/readyz":
		case r.Method == http.MethodGet && r.URL.Path == "/api/orders":
			_, _ = w.Write([]byte(`{"orders":[]}`))
		case r.Method == http.MethodPost:
			var b struct {
				Email string `json:"customer_email"`
			}
			_ = json.NewDecoder(r.Body).Decode(&b)
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]string{"id": "o-1", "customer_email": b.Email, "status": "pending"})
		default:
			_ = json.NewEncoder(w).Encode(map[string]string{"id": "o-1", "status": "fulfilled"})
		}
	})
}

func TestCommandExitCodes(t *testing.T) {
	ok := httptest.NewServer(orderAPI(false))
	defer ok.Close()
	bad := httptest.NewServer(orderAPI(true))
	defer bad.Close()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		output string
	}{
		{"passes", []string{"-base", ok.URL}, 0, "smoke test passed"},
		{"API answers 5xx", []string{"-base", bad.URL}, 1, "smoke step read failed"},
		{"bad flag", []string{"-nope"}, 2, "flag provided but not defined"},
		{"stray argument", []string{"-base", ok.URL, "x"}, 2, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := runCommand(t.Context(), tc.args, &out, &out); code != tc.code || !strings.Contains(out.String(), tc.output) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", code, out.String(), tc.code, tc.output)
			}
		})
	}
}

// TestLambdaHook serves two invocations through a fake runtime API and checks the hookStatus answered.
func TestLambdaHook(t *testing.T) {
	for _, tc := range []struct {
		name    string
		failing bool
		payload string
		want    string
	}{
		{"smoke passes", false, `{"serviceArn":"arn:aws:ecs:eu-west-1:1:service/c/api","targetServiceRevisionArn":"r"}`, "SUCCEEDED"},
		{"smoke fails", true, `{"serviceArn":"arn:aws:ecs:eu-west-1:1:service/c/api"}`, "FAILED"},
		{"bad payload", false, `not json`, "FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := httptest.NewServer(orderAPI(tc.failing))
			defer api.Close()
			var mu sync.Mutex
			served := false
			responses := make(chan []byte, 1)
			rt := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case runtimePath + "next":
					mu.Lock()
					first := !served
					served = true
					mu.Unlock()
					if !first {
						<-r.Context().Done()
						return
					}
					w.Header().Set("Lambda-Runtime-Aws-Request-Id", "req-1")
					w.Header().Set("Lambda-Runtime-Deadline-Ms", strconvMs(time.Now().Add(time.Minute)))
					_, _ = w.Write([]byte(tc.payload))
				case runtimePath + "req-1/response":
					b, _ := io.ReadAll(r.Body)
					w.WriteHeader(http.StatusAccepted)
					responses <- b
				default:
					http.NotFound(w, r)
				}
			}))
			defer rt.Close()
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			env := func(k string) string {
				if k == "SMOKE_BASE_URL" {
					return api.URL
				}
				return ""
			}
			go func() { done <- serveLambda(ctx, strings.TrimPrefix(rt.URL, "http://"), env, io.Discard) }()
			var got HookResponse
			select {
			case b := <-responses:
				if err := json.Unmarshal(b, &got); err != nil {
					t.Fatalf("response %s: %v", b, err)
				}
			case err := <-done:
				t.Fatalf("serveLambda returned %v before answering", err)
			case <-time.After(30 * time.Second):
				t.Fatal("no response within 30 s")
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serveLambda after cancel: %v", err)
			}
			if got.HookStatus != tc.want {
				t.Errorf("hookStatus = %q (%s); want %s", got.HookStatus, got.Reason, tc.want)
			}
		})
	}
}

func strconvMs(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// The hook of a web service other than the orders API (SMOKE_SUITE=probes) checks its probes and SMOKE_PATHS and
// places no order; an unknown suite fails the deployment.
func TestHandleProbesSuite(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
	}))
	defer svc.Close()
	env := map[string]string{"SMOKE_BASE_URL": svc.URL, "SMOKE_SUITE": "probes", "SMOKE_PATHS": "/api/catalog/hello, /api/catalog/items"}
	got := handle(t.Context(), []byte(`{"executionDetails":{}}`), func(k string) string { return env[k] }, io.Discard)
	if got.HookStatus != "SUCCEEDED" {
		t.Fatalf("hookStatus = %s (%s); want SUCCEEDED", got.HookStatus, got.Reason)
	}
	if want := []string{"GET /healthz", "GET /readyz", "GET /api/catalog/hello", "GET /api/catalog/items"}; !slices.Equal(seen, want) {
		t.Errorf("requests %q; want %q", seen, want)
	}
	env["SMOKE_SUITE"] = "everything"
	if got := handle(t.Context(), []byte(`{}`), func(k string) string { return env[k] }, io.Discard); got.HookStatus != "FAILED" {
		t.Errorf("SMOKE_SUITE=everything: hookStatus %s; want FAILED", got.HookStatus)
	}
}
