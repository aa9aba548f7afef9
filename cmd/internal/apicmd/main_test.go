package apicmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/loadtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestConfigErrorListsEveryProblem(t *testing.T) {
	err := Run(context.Background(), func(string) string { return "" }, &bytes.Buffer{})
	if err == nil {
		t.Fatal("Run(empty environment) = nil; want a configuration error")
	}
	for _, key := range []string{"AWS_REGION", "ORDER_EVENTS_TOPIC_ARN", "ORDER_UPDATES_QUEUE_URL",
		"DATABASE_HOST", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("Run(empty environment) = %v; want it to name %s", err, key)
		}
	}
	env := map[string]string{"SHUTDOWN_TIMEOUT": "-1s", "DATABASE_PORT": "99999", "DATABASE_SSLMODE": "disable"}
	err = Run(context.Background(), func(k string) string { return env[k] }, &bytes.Buffer{})
	for key := range env {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Run(bad %s) = %v; want it named", key, err)
		}
	}
}

func TestDefaultsFollowManifest(t *testing.T) {
	m, err := manifest.Load("../../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := m.Service("api")
	q, _ := m.Queue(events.OrderUpdatesQueue)
	got := []string{defaultAddr, defaultShutdownTimeout.String(), queueVisibility.String(), events.OrderUpdatesQueue, events.OrderEventsTopic}
	want := []string{":" + strconv.Itoa(svc.Port), (time.Duration(svc.DrainSeconds) * time.Second).String(),
		(time.Duration(q.VisibilityTimeoutSeconds) * time.Second).String(), strings.Join(svc.Consumes, ","),
		strings.Join(svc.Publishes, ",")}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("api setting %d = %s; infra/services.yaml says %s", i, got[i], want[i])
		}
	}
}

// proxy forwards TCP connections to PostgreSQL and can cut them, to take the database away from the API and
// give it back.
type proxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	blocked  bool
	conns    map[net.Conn]bool
}

func newProxy(t *testing.T, host string, upstream string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, upstream: upstream, conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { p.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		p.setBlocked(true)
		wg.Wait()
	})
	return p
}

func (p *proxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *proxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.blocked {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// setBlocked cuts every connection and refuses new ones while blocked.
func (p *proxy) setBlocked(b bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = b
	if b {
		for c := range p.conns {
			c.Close()
		}
	}
}

// addrWriter collects the output of run and reports the address the HTTP server listens on.
type addrWriter struct {
	logtest.Buffer
	addr chan string
}

func (w *addrWriter) Write(p []byte) (int, error) {
	if _, err := w.Buffer.Write(p); err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		var line struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "http server listening" {
			w.addr <- line.Addr
		}
	}
	return len(p), nil
}

type apiProcess struct {
	*loadtest.System
	base  string
	proxy *proxy
}

// startAPI runs the API's run against a database of the test's own, reached through a proxy, and an embedded
// SQS/SNS endpoint.
func startAPI(t *testing.T) *apiProcess {
	t.Helper()
	ctx := context.Background()
	sys := loadtest.NewSystem(t, 30*time.Second)
	p := newProxy(t, sys.DB.Host, net.JoinHostPort(sys.DB.Host, strconv.Itoa(sys.DB.Port)))
	a := &apiProcess{System: sys, proxy: p}
	env := sys.APIEnv(5 * time.Second)
	env["DATABASE_PORT"] = strconv.Itoa(p.port())
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	out := &addrWriter{addr: make(chan string, 1)}
	go func() { done <- Run(runCtx, func(k string) string { return env[k] }, out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("api Run() = %v; want a clean stop", err)
		}
		if t.Failed() {
			t.Logf("api output:\n%s", out.String())
		}
	})
	select {
	case addr := <-out.addr:
		a.base = "http://" + addr
	case err := <-done:
		done <- err
		t.Fatalf("api Run() = %v before listening", err)
	}
	// It listens before its database is ready (ADR 0007); the tests start from a ready task, as the load
	// balancer's traffic does.
	loadtest.Eventually(t, "the api is ready", func() bool { status, _ := a.do(t, "GET", "/readyz", ""); return status == 200 })
	return a
}

func (a *apiProcess) do(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

func (a *apiProcess) placeOrder(t *testing.T) string {
	t.Helper()
	status, body := a.do(t, "POST", "/api/orders", `{"customer_email":"a@example.com","items":[{"sku":"SKU-1","quantity":1,"price_cents":500}]}`)
	if status != http.StatusCreated {
		t.Fatalf("POST /api/orders = %d %s; want 201", status, body)
	}
	var o struct{ ID string }
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatal(err)
	}
	return o.ID
}

func (a *apiProcess) send(t *testing.T, e events.Envelope) {
	t.Helper()
	body, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]sqstypes.MessageAttributeValue{}
	for k, v := range e.Attributes() {
		attrs[k] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	if _, err := a.SQS.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(a.QueueURL["order-updates"]),
		MessageBody: aws.String(string(body)), MessageAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
}

func TestOrderPublishedAndUpdatesAppliedOnce(t *testing.T) {
	a := startAPI(t)
	id := a.placeOrder(t)

	// The relay publishes order.placed to order-events, which feeds the fulfillment queue.
	loadtest.Eventually(t, "order.placed reaches the fulfillment queue", func() bool {
		out, err := a.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(a.QueueURL["fulfillment"]), MessageAttributeNames: []string{"All"}})
		if err != nil || len(out.Messages) == 0 {
			return false
		}
		e, err := events.Decode([]byte(aws.ToString(out.Messages[0].Body)))
		return err == nil && e.Type == events.OrderPlaced && e.Subject == id &&
			aws.ToString(out.Messages[0].MessageAttributes["type"].StringValue) == "order.placed"
	})

	fulfilled, err := events.New(events.OrderFulfilled, events.SourceWorker, id, events.OrderFulfilledData{OrderID: id}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	note, err := events.New(events.NotificationOrderFulfilled, events.SourceWorker, id, events.NotificationData{
		OrderID: id, Channel: "email", Recipient: "a@example.com", Subject: "On its way", Body: "Thanks"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // every message delivered twice
		a.send(t, fulfilled)
		a.send(t, note)
	}
	loadtest.Eventually(t, "the order is fulfilled and the queue drained", func() bool {
		status, body := a.do(t, "GET", "/api/orders/"+id, "")
		out, err := a.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(a.QueueURL["order-updates"]),
			AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"},
		})
		return status == 200 && strings.Contains(string(body), `"status":"fulfilled"`) && err == nil &&
			out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
	})
	status, body := a.do(t, "GET", "/api/orders/"+id+"/notifications", "")
	var list struct{ Notifications []struct{ ID, Type string } }
	if err := json.Unmarshal(body, &list); err != nil || status != 200 {
		t.Fatalf("GET notifications = %d %s", status, body)
	}
	if len(list.Notifications) != 1 || list.Notifications[0].ID != note.ID {
		t.Errorf("notifications = %+v; want only %s once", list.Notifications, note.ID)
	}
}

func TestDatabaseDownAnswers503ThenRecovers(t *testing.T) {
	a := startAPI(t)
	id := a.placeOrder(t)
	if status, _ := a.do(t, "GET", "/readyz", ""); status != 200 {
		t.Fatalf("GET /readyz = %d; want 200", status)
	}

	a.proxy.setBlocked(true)
	loadtest.Eventually(t, "/readyz fails", func() bool { status, _ := a.do(t, "GET", "/readyz", ""); return status == 503 })
	if status, _ := a.do(t, "GET", "/healthz", ""); status != 200 {
		t.Errorf("GET /healthz with the database down = %d; want 200 (the process is alive)", status)
	}
	for _, rq := range []struct{ method, path, body string }{
		{"GET", "/api/orders/" + id, ""},
		{"GET", "/api/orders", ""},
		{"POST", "/api/orders", `{"customer_email":"a@example.com","items":[{"sku":"SKU-1","quantity":1,"price_cents":500}]}`},
	} {
		status, body := a.do(t, rq.method, rq.path, rq.body)
		if status != 503 || !strings.Contains(string(body), `"status":503`) {
			t.Errorf("%s %s with the database down = %d %s; want a 503 problem", rq.method, rq.path, status, body)
		}
	}

	a.proxy.setBlocked(false)
	loadtest.Eventually(t, "/readyz recovers", func() bool { status, _ := a.do(t, "GET", "/readyz", ""); return status == 200 })
	if status, body := a.do(t, "GET", "/api/orders/"+id, ""); status != 200 {
		t.Errorf("GET order after recovery = %d %s; want 200", status, body)
	}
	a.placeOrder(t)
}

// The api reads every variable its task definition sets (manifest.Environment, from infra/services.yaml) and
// requires no other: a misspelt name fails here rather than on the first deploy.
func TestReadsItsTaskEnvironment(t *testing.T) {
	m, err := manifest.Load("../../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range boot.EnvironmentProblems(m, "api", func(getenv func(string) string) *config.Reader {
		w, _ := readSettings(getenv)
		return w.Env
	}) {
		t.Error(p)
	}
}
