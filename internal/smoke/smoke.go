// Package smoke is the release smoke test: it checks a running orders API the way a release must before it
// takes production traffic. The same steps run in three places: `make smoke` against `make up`, `make test`
// against the real binaries (internal/testing/devenvtest), and the ECS blue/green lifecycle hook (cmd/smokehook)
// against the new tasks through the load balancer's test listener, where a failed step fails the deployment.
//
// The steps, in order, each named in the error that fails the run:
//
//	healthz    GET  {ProbeURL}/healthz answers 200
//	readyz     GET  {ProbeURL}/readyz answers 200
//	read       GET  {BaseURL}/api/orders?limit=1 answers 200 with an order list
//	place      POST {BaseURL}/api/orders places a marked order (201, pending)
//	fulfilled  GET  {BaseURL}/api/orders/{id} until the order is fulfilled (rejected, or still pending at the
//	           deadline, fails: the worker did not handle it)
//	GET <path> GET  {BaseURL}<path> answers 200, for each of Paths
//
// A web service other than the orders API runs the probes and its Paths only (ProbesOnly).
//
// The marker: every smoke order's customer email is in the reserved domain EmailDomain ("smoke.invalid";
// .invalid never resolves, RFC 6761 section 6.4, so its notifications are never delivered), and its idempotency
// key starts with "smoke-". Business reports and metrics exclude orders whose customer_email ends in
// "@smoke.invalid" (docs/releases.md). The order is real: it takes one unit of SKU stock per run.
package smoke

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// EmailDomain is the reserved domain of smoke orders' customer emails: the marker that they are not business.
const EmailDomain = "smoke.invalid"

// SKU is what a smoke order buys: one unit, at 1 cent, of an SKU the seeded inventory holds.
const SKU = "SKU-1"

// The step names, as errors and reports name them.
const (
	StepHealthz   = "healthz"
	StepReadyz    = "readyz"
	StepRead      = "read"
	StepPlace     = "place"
	StepFulfilled = "fulfilled"
)

// IsSmokeEmail reports whether a customer email marks a smoke order.
func IsSmokeEmail(email string) bool {
	return strings.HasSuffix(strings.ToLower(email), "@"+EmailDomain)
}

// Config says where and how to run.
type Config struct {
	// BaseURL is where /api/* answers (the edge locally, the test listener on AWS).
	BaseURL string
	// ProbeURL is where the service's /healthz and /readyz answer; BaseURL when empty.
	ProbeURL string
	// Client makes the requests; a client with a 10 s timeout when nil.
	Client *http.Client
	// FulfillTimeout bounds the wait for the order to be fulfilled (default 60 s); Poll is the interval between
	// reads (default 500 ms).
	FulfillTimeout, Poll time.Duration
	// Log, when set, is told each step's outcome as it ends.
	Log func(s Step)
	// ProbesOnly skips the orders steps (read, place, fulfilled): the smoke test of a web service other than the
	// orders API (its smoke: probes in infra/services.yaml).
	ProbesOnly bool
	// Paths are further GETs under BaseURL that must answer 200, each a step named "GET <path>" (smoke_paths).
	Paths []string
}

// Step is one step's outcome.
type Step struct {
	Name     string
	Duration time.Duration
	Detail   string // what was checked or found: an order id, a status
	Err      error
}

// Error is a failed run: the step that failed and why.
type Error struct {
	Step string
	Err  error
}

func (e *Error) Error() string { return "smoke step " + e.Step + " failed: " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Run runs the steps in order and stops at the first failure, returned as *Error. It returns every step run.
func Run(ctx context.Context, cfg Config) ([]Step, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("smoke: no base URL")
	}
	if cfg.ProbeURL == "" {
		cfg.ProbeURL = cfg.BaseURL
	}
	cfg.BaseURL, cfg.ProbeURL = strings.TrimRight(cfg.BaseURL, "/"), strings.TrimRight(cfg.ProbeURL, "/")
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.FulfillTimeout <= 0 {
		cfg.FulfillTimeout = 60 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	r := runner{cfg: cfg}
	var orderID string
	steps := []struct {
		name string
		fn   func(context.Context) (string, error)
	}{
		{StepHealthz, func(ctx context.Context) (string, error) { return r.expect200(ctx, cfg.ProbeURL+"/healthz") }},
		{StepReadyz, func(ctx context.Context) (string, error) { return r.expect200(ctx, cfg.ProbeURL+"/readyz") }},
		{StepRead, r.read},
		{StepPlace, func(ctx context.Context) (string, error) {
			id, err := r.place(ctx)
			orderID = id
			return "order " + id, err
		}},
		{StepFulfilled, func(ctx context.Context) (string, error) { return r.fulfilled(ctx, orderID) }},
	}
	if cfg.ProbesOnly {
		steps = steps[:2]
	}
	for _, p := range cfg.Paths {
		steps = append(steps, struct {
			name string
			fn   func(context.Context) (string, error)
		}{"GET " + p, func(ctx context.Context) (string, error) { return r.expect200(ctx, cfg.BaseURL+p) }})
	}
	var done []Step
	for _, s := range steps {
		start := time.Now()
		detail, err := s.fn(ctx)
		st := Step{Name: s.name, Duration: time.Since(start), Detail: detail, Err: err}
		done = append(done, st)
		if cfg.Log != nil {
			cfg.Log(st)
		}
		if err != nil {
			return done, &Error{Step: s.name, Err: err}
		}
	}
	return done, nil
}

type runner struct{ cfg Config }

// do sends a request and returns the status and at most 64 KiB of the body.
func (r runner) do(ctx context.Context, method, url string, body []byte, header map[string]string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: read body: %w", method, url, err)
	}
	return resp.StatusCode, b, nil
}

func (r runner) expect200(ctx context.Context, url string) (string, error) {
	code, body, err := r.do(ctx, http.MethodGet, url, nil, nil)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("GET %s answered %d: %s", url, code, snippet(body))
	}
	return "200", nil
}

func (r runner) read(ctx context.Context) (string, error) {
	url := r.cfg.BaseURL + "/api/orders?limit=1"
	code, body, err := r.do(ctx, http.MethodGet, url, nil, nil)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("GET %s answered %d: %s", url, code, snippet(body))
	}
	var list struct {
		Orders *[]json.RawMessage `json:"orders"`
	}
	if err := json.Unmarshal(body, &list); err != nil || list.Orders == nil {
		return "", fmt.Errorf("GET %s: not an order list: %s", url, snippet(body))
	}
	return fmt.Sprintf("%d order(s)", len(*list.Orders)), nil
}

type order struct {
	ID            string `json:"id"`
	CustomerEmail string `json:"customer_email"`
	Status        string `json:"status"`
	StatusReason  string `json:"status_reason"`
}

func (r runner) place(ctx context.Context) (string, error) {
	run := token()
	body, _ := json.Marshal(map[string]any{
		"customer_email": "release+" + run + "@" + EmailDomain,
		"items":          []map[string]any{{"sku": SKU, "quantity": 1, "price_cents": 1}},
	})
	url := r.cfg.BaseURL + "/api/orders"
	code, resp, err := r.do(ctx, http.MethodPost, url, body, map[string]string{
		"Content-Type": "application/json", "Idempotency-Key": "smoke-" + run,
	})
	if err != nil {
		return "", err
	}
	if code != http.StatusCreated {
		return "", fmt.Errorf("POST %s answered %d: %s", url, code, snippet(resp))
	}
	var o order
	if err := json.Unmarshal(resp, &o); err != nil || o.ID == "" {
		return "", fmt.Errorf("POST %s: not an order: %s", url, snippet(resp))
	}
	if !IsSmokeEmail(o.CustomerEmail) {
		return o.ID, fmt.Errorf("order %s lost its smoke marker: customer_email %q", o.ID, o.CustomerEmail)
	}
	return o.ID, nil
}

func (r runner) fulfilled(ctx context.Context, id string) (string, error) {
	url := r.cfg.BaseURL + "/api/orders/" + id
	deadline := time.Now().Add(r.cfg.FulfillTimeout)
	var last string // what the last read saw, for the timeout's message
	for {
		code, body, err := r.do(ctx, http.MethodGet, url, nil, nil)
		switch {
		case err != nil:
			last = err.Error()
		case code != http.StatusOK:
			return "", fmt.Errorf("GET %s answered %d: %s", url, code, snippet(body))
		default:
			var o order
			if err := json.Unmarshal(body, &o); err != nil {
				return "", fmt.Errorf("GET %s: not an order: %s", url, snippet(body))
			}
			switch o.Status {
			case "fulfilled":
				return "order " + id + " fulfilled", nil
			case "rejected":
				return "", fmt.Errorf("order %s was rejected: %s", id, o.StatusReason)
			}
			last = "status " + o.Status
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("order %s not fulfilled within %s (last: %s): is the worker running?", id, r.cfg.FulfillTimeout, last)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("order %s: %w (last: %s)", id, ctx.Err(), last)
		case <-time.After(r.cfg.Poll):
		}
	}
}

// token is a random run id: 12 hex characters.
func token() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// snippet is the start of a body for an error message.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

// Report renders steps as a Markdown table, for a job summary or a hook's log.
func Report(steps []Step) string {
	var b strings.Builder
	b.WriteString("| step | result | time | detail |\n|---|---|---|---|\n")
	for _, s := range steps {
		res, detail := "ok", s.Detail
		if s.Err != nil {
			res, detail = "FAILED", s.Err.Error()
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", s.Name, res, s.Duration.Round(time.Millisecond), strings.ReplaceAll(detail, "|", "\\|"))
	}
	return b.String()
}
