package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/topology"
)

// The local system is the manifest's topology (tested in internal/topology) plus the tap queue that devenv
// prints from, subscribed raw to every topic; nothing else is added or changed.
func TestLocalTopologyAddsOnlyTheTap(t *testing.T) {
	m, err := manifest.Load("../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, want := localTopology(m), topology.Local(m)
	if tap := topology.Queue(&got, tapQueue); tap == nil {
		t.Fatalf("local topology has no %s queue", tapQueue)
	}
	for i, topic := range got.Topics {
		subs := topic.Subscriptions
		if n := len(subs); n == 0 || subs[n-1].Queue != tapQueue || !subs[n-1].RawMessageDelivery || subs[n-1].FilterPolicy != nil {
			t.Errorf("topic %s: last subscription = %+v; want a raw, unfiltered one of %s", topic.Name, subs[len(subs)-1], tapQueue)
			continue
		}
		got.Topics[i].Subscriptions = subs[:len(subs)-1]
	}
	got.Queues = slices.DeleteFunc(got.Queues, func(q localaws.QueueSpec) bool { return q.Name == tapQueue })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("local topology without the tap (-manifest +local):\n%s", diff)
	}
}

// TestUp runs the local system as `make up` does, from the real binaries, and uses it as a person would: it
// places orders over HTTP through the edge, sees one fulfilled and one rejected with their notifications, and
// then stops it with Ctrl-C and checks that nothing is left listening.
func TestUp(t *testing.T) {
	sys := devenvtest.Start(t, devenvtest.Build(t))
	base := sys.URL
	// Children run in their own process groups, so devenv must stop them itself; note the PostgreSQL port now to
	// prove later that it was stopped.
	dbPort := regexp.MustCompile(`PostgreSQL 127\.0\.0\.1:(\d+)`).FindStringSubmatch(sys.Output.String())
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
			return strings.Contains(sys.Output.String(), "NOTIFICATION email to e2e@example.com for order "+id)
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

	// A crash of any process is recovered from as on AWS: the worker and the API are replaced, PostgreSQL is
	// restarted with crash recovery, and the system keeps taking and fulfilling orders.
	for i, victim := range []string{"worker", "api", "PostgreSQL"} {
		pid := pidOf(t, sys.Output.String(), victim)
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil { // the process group: PostgreSQL and its backends
			t.Fatalf("kill %s (pid %d): %v", victim, pid, err)
		}
		waitFor(t, victim+" to be back", func() bool { return pidOf(t, sys.Output.String(), victim) != pid })
		waitFor(t, "an order after the crash of "+victim, func() bool {
			id, ok := tryPlaceOrder(base, "SKU-1", fmt.Sprintf("e2e-crash-%d", i))
			if ok {
				waitStatus(t, base, id, "fulfilled")
			}
			return ok
		})
	}

	if err := sys.Stop(); err != nil {
		t.Errorf("devenv after Ctrl-C: %v; want a clean exit", err)
	}
	for _, a := range []string{strings.TrimPrefix(base, "http://"), sys.AWSAddr, "127.0.0.1:" + dbPort[1]} {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after devenv stopped", a)
		}
	}
}

// pidOf is the last process id devenv printed for name ("api started (pid 12)", "worker restarted (pid 13,
// restart 1)", "PostgreSQL ... pid 14)").
func pidOf(t *testing.T, output, name string) int {
	t.Helper()
	re := regexp.MustCompile(`(?m)^devenv\s*\| ` + regexp.QuoteMeta(name) + ` (?:started \(|restarted \(|recovered \(|\S+ \(TLS only.*)pid (\d+)`)
	all := re.FindAllStringSubmatch(output, -1)
	if len(all) == 0 {
		t.Fatalf("devenv printed no pid for %s", name)
	}
	pid, _ := strconv.Atoi(all[len(all)-1][1])
	return pid
}

// tryPlaceOrder places an order and reports whether it was accepted (201 or 200 for a replay).
func tryPlaceOrder(base, sku, key string) (string, bool) {
	body := fmt.Sprintf(`{"customer_email": "e2e@example.com", "items": [{"sku": %q, "quantity": 1, "price_cents": 100}]}`, sku)
	req, _ := http.NewRequest(http.MethodPost, base+"/api/orders", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var got struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&got) != nil {
		return "", false
	}
	return got.ID, true
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
