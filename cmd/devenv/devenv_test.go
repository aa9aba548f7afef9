package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
)

func TestLocalTopologyMatchesManifest(t *testing.T) {
	m, err := manifest.Load("../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	topo := localTopology(m)
	queues := map[string]bool{}
	for _, q := range topo.Queues {
		queues[q.Name] = true
	}
	for _, q := range m.Queues {
		if !queues[q.Name] || !queues[q.DeadLetterQueueName()] {
			t.Errorf("local topology lacks queue %s or its dead-letter queue", q.Name)
		}
	}
	var got []string
	for _, topic := range topo.Topics {
		for _, s := range topic.Subscriptions {
			got = append(got, fmt.Sprintf("%s->%s raw=%v filter=%s", topic.Name, s.Queue, s.RawMessageDelivery, s.FilterPolicy))
		}
	}
	want := []string{
		`order-events->fulfillment raw=true filter={"type":["order.placed"]}`,
		`order-events->order-updates raw=true filter={"type":["order.fulfilled","order.rejected"]}`,
		`order-events->devenv-tap raw=true filter=`,
		`notifications->order-updates raw=true filter=`,
		`notifications->devenv-tap raw=true filter=`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}
}

// TestUp runs the local system as `make up` does, from the real binaries, and uses it as a person would: it
// places orders over HTTP through the edge, sees one fulfilled and one rejected with their notifications, and
// then stops it with Ctrl-C and checks that nothing is left listening.
func TestUp(t *testing.T) {
	bin := buildBinaries(t)
	addr, awsAddr := freeTestAddr(t), freeTestAddr(t)
	cmd := exec.Command(filepath.Join(bin, "devenv"), "-addr", addr, "-aws-addr", awsAddr, "-manifest", "../../infra/services.yaml")
	cmd.Env = append(os.Environ(), "DB_PORT=0")
	out := &logtest.Buffer{}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = io.MultiWriter(out, pw), out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("devenv output:\n%s", out.String())
		}
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "ready in") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("devenv exited before it was ready: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("devenv was not ready within 2 minutes")
	}
	base := "http://" + addr
	// A new process group per child means devenv must forward the stop itself; find the PostgreSQL port now to
	// prove later that it was stopped.
	dbPort := regexp.MustCompile(`PostgreSQL 127\.0\.0\.1:(\d+)`).FindStringSubmatch(out.String())
	if dbPort == nil {
		t.Fatalf("devenv did not print the PostgreSQL address")
	}

	fulfilled := placeOrder(t, base, "SKU-1", "e2e-1")
	rejected := placeOrder(t, base, "SKU-9", "e2e-2")
	waitStatus(t, base, fulfilled, "fulfilled")
	waitStatus(t, base, rejected, "rejected")
	for _, id := range []string{fulfilled, rejected} {
		waitFor(t, fmt.Sprintf("a notification for order %s", id), func() bool {
			var got struct {
				Notifications []json.RawMessage `json:"notifications"`
			}
			getJSON(t, base+"/api/orders/"+id+"/notifications", &got)
			return len(got.Notifications) > 0
		})
		waitFor(t, "devenv to print the notification for "+id, func() bool {
			return strings.Contains(out.String(), "NOTIFICATION email to e2e@example.com for order "+id)
		})
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET / = %s; want 200 from the web UI", resp.Status)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("devenv after Ctrl-C: %v; want a clean exit", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("devenv did not stop within 90 s of Ctrl-C")
	}
	for _, a := range []string{addr, awsAddr, "127.0.0.1:" + dbPort[1]} {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after devenv stopped", a)
		}
	}
}

func buildBinaries(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	cmd := exec.Command("go", "build", "-o", bin+"/", "../../cmd/...")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeTestAddr(t *testing.T) string {
	t.Helper()
	a, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func placeOrder(t *testing.T, base, sku, key string) string {
	t.Helper()
	body := fmt.Sprintf(`{"customer_email": "e2e@example.com", "items": [{"sku": %q, "quantity": 2, "price_cents": 1250}]}`, sku)
	req, _ := http.NewRequest(http.MethodPost, base+"/api/orders", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		ID         string `json:"id"`
		Status     string `json:"status"`
		TotalCents int64  `json:"total_cents"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/orders = %s %s; want 201", resp.Status, b)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("decode order: %v: %s", err, b)
	}
	if got.Status != "pending" || got.TotalCents != 2500 {
		t.Errorf("POST /api/orders = status %q total %d; want pending 2500", got.Status, got.TotalCents)
	}
	return got.ID
}

func waitStatus(t *testing.T, base, id, want string) {
	t.Helper()
	var got struct {
		Status string `json:"status"`
	}
	waitFor(t, fmt.Sprintf("order %s to be %s", id, want), func() bool {
		getJSON(t, base+"/api/orders/"+id, &got)
		return got.Status == want
	})
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %s %s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
}

// waitFor polls cond for up to 30 s; the system is eventually consistent by design.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
