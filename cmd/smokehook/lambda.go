package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/smoke"
)

// The Lambda runtime API, implemented with the standard library so the function needs no dependency:
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html (GET .../invocation/next, POST
// .../invocation/{id}/response).
const runtimePath = "/2018-06-01/runtime/invocation/"

// HookEvent is the part of the lifecycle hook payload the hook uses (it logs the rest).
type HookEvent struct {
	ServiceArn               string `json:"serviceArn"`
	TargetServiceRevisionArn string `json:"targetServiceRevisionArn"`
	LifecycleStage           string `json:"lifecycleStage,omitempty"`
}

// HookResponse is what ECS reads back: SUCCEEDED continues the deployment, FAILED rolls it back.
type HookResponse struct {
	HookStatus string `json:"hookStatus"`
	// Reason is not read by ECS; it is logged with the response for whoever reads the function's logs.
	Reason string `json:"reason,omitempty"`
}

// handle runs the smoke test against the test listener (SMOKE_BASE_URL) for one invocation.
func handle(ctx context.Context, payload []byte, getenv func(string) string, log io.Writer) HookResponse {
	var ev HookEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return HookResponse{HookStatus: "FAILED", Reason: "payload is not a lifecycle hook event: " + err.Error()}
	}
	base := getenv("SMOKE_BASE_URL")
	if base == "" {
		return HookResponse{HookStatus: "FAILED", Reason: "SMOKE_BASE_URL is not set"}
	}
	wait := 60 * time.Second
	if v := getenv("SMOKE_FULFILL_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return HookResponse{HookStatus: "FAILED", Reason: fmt.Sprintf("SMOKE_FULFILL_TIMEOUT %q is not a positive duration", v)}
		}
		wait = d
	}
	cfg := smoke.Config{BaseURL: base, FulfillTimeout: wait}
	switch suite := getenv("SMOKE_SUITE"); suite {
	case "", "orders": // the orders API's release test
	case "probes":
		cfg.ProbesOnly = true
	default:
		return HookResponse{HookStatus: "FAILED", Reason: fmt.Sprintf("SMOKE_SUITE %q: want orders or probes", suite)}
	}
	for _, p := range strings.Split(getenv("SMOKE_PATHS"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.Paths = append(cfg.Paths, p)
		}
	}
	fmt.Fprintf(log, "smoke test of %s (revision %s) through %s\n", ev.ServiceArn, ev.TargetServiceRevisionArn, base)
	steps, err := smoke.Run(ctx, cfg)
	fmt.Fprint(log, smoke.Report(steps))
	if err != nil {
		return HookResponse{HookStatus: "FAILED", Reason: err.Error()}
	}
	return HookResponse{HookStatus: "SUCCEEDED"}
}

// serveLambda takes invocations from the runtime API at api until ctx ends.
func serveLambda(ctx context.Context, api string, getenv func(string) string, log io.Writer) error {
	client := &http.Client{} // no timeout: /next blocks until an invocation arrives
	base := "http://" + api + runtimePath
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"next", nil)
		resp, err := client.Do(req)
		if ctx.Err() != nil {
			if err == nil {
				_ = resp.Body.Close()
			}
			return nil // shutting down
		}
		if err != nil {
			return fmt.Errorf("runtime API next: %w", err)
		}
		payload, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("runtime API next: read: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("runtime API next: status %d", resp.StatusCode)
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		if id == "" {
			return errors.New("runtime API next: no request id")
		}
		ictx, cancel := ctx, context.CancelFunc(func() {})
		if ms, err := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64); err == nil {
			// Answer before the deadline: a function that times out returns no hookStatus.
			ictx, cancel = context.WithDeadline(ctx, time.UnixMilli(ms).Add(-2*time.Second))
		}
		out := handle(ictx, payload, getenv, log)
		cancel()
		body, _ := json.Marshal(out)
		fmt.Fprintf(log, "hook response %s\n", body)
		// Delivered even when shutdown began meanwhile: an unanswered invocation rolls the deployment back.
		req, _ = http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, base+id+"/response", bytes.NewReader(body))
		resp, err = client.Do(req)
		if err != nil {
			return fmt.Errorf("runtime API response: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("runtime API response: status %d", resp.StatusCode)
		}
	}
}
