package workercmd

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/orders"
	"github.com/ecs-reworked/ecs-reworked/internal/orders/ordersdb"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/outbox"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/loadtest"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestConfigErrorListsEveryProblem(t *testing.T) {
	err := Run(context.Background(), func(string) string { return "" }, &bytes.Buffer{})
	if err == nil {
		t.Fatal("Run(empty environment) = nil; want a configuration error")
	}
	for _, key := range []string{"AWS_REGION", "ORDER_EVENTS_TOPIC_ARN", "NOTIFICATIONS_TOPIC_ARN", "FULFILLMENT_QUEUE_URL",
		"DATABASE_HOST", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("Run(empty environment) = %v; want it to name %s", err, key)
		}
	}
	env := map[string]string{"SHUTDOWN_TIMEOUT": "forever", "LOG_FORMAT": "xml"}
	err = Run(context.Background(), func(k string) string { return env[k] }, &bytes.Buffer{})
	for _, key := range []string{"SHUTDOWN_TIMEOUT", "LOG_FORMAT"} {
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
	svc, _ := m.Service("worker")
	q, _ := m.Queue(events.FulfillmentQueue)
	got := []string{defaultAddr, defaultShutdownTimeout.String(), queueVisibility.String(), events.FulfillmentQueue,
		strings.Join([]string{events.OrderEventsTopic, events.NotificationsTopic}, ",")}
	want := []string{":" + strconv.Itoa(svc.Port), (time.Duration(svc.DrainSeconds) * time.Second).String(),
		(time.Duration(q.VisibilityTimeoutSeconds) * time.Second).String(), strings.Join(svc.Consumes, ","),
		strings.Join(svc.Publishes, ",")}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("worker setting %d = %s; infra/services.yaml says %s", i, got[i], want[i])
		}
	}
}

// worker is the system a running worker uses.
type worker struct{ *loadtest.System }

// startWorker runs the worker's run for the test, against a database and an endpoint of the test's own. The
// fulfillment queue's visibility timeout is 1 s so a failing message reaches the dead-letter queue quickly.
func startWorker(t *testing.T) *worker {
	t.Helper()
	w := &worker{loadtest.NewSystem(t, time.Second)}
	env := w.WorkerEnv(10 * time.Second)
	env["LOG_FORMAT"], env["LOG_LEVEL"] = "text", "warn"
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out logtest.Buffer
	go func() { done <- Run(runCtx, func(k string) string { return env[k] }, &out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker Run() = %v; want a clean stop", err)
		}
		if t.Failed() {
			t.Logf("worker output:\n%s", out.String())
		}
	})
	return w
}

// settle waits until the worker handled every message of its queue and published every event it wrote.
func (w *worker) settle(t *testing.T, eventIDs ...string) {
	t.Helper()
	loadtest.Eventually(t, "the worker handled its queue and published its outbox", func() bool {
		return w.Messages(t, "fulfillment") == 0 &&
			w.Count(t, `SELECT count(*) FROM fulfillment.inbox WHERE event_id::text = ANY($1)`, eventIDs) == len(eventIDs) &&
			w.Count(t, `SELECT count(*) FROM fulfillment.outbox`) == 0
	})
}

func placedEvent(t *testing.T, sku string, qty int) events.Envelope {
	t.Helper()
	id := uuid.NewString()
	e, err := events.New(events.OrderPlaced, events.SourceAPI, id, events.OrderPlacedData{OrderID: id,
		CustomerEmail: "a@example.com", Items: []events.Item{{SKU: sku, Quantity: qty, PriceCents: 100}}, TotalCents: int64(qty) * 100}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (w *worker) publish(t *testing.T, e events.Envelope) {
	t.Helper()
	body, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]snstypes.MessageAttributeValue{}
	for k, v := range e.Attributes() {
		attrs[k] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	if _, err := w.SNS.Publish(context.Background(), &sns.PublishInput{TopicArn: aws.String(w.TopicARN["order-events"]),
		Message: aws.String(string(body)), MessageAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
}

func (w *worker) onHand(t *testing.T, sku string) int {
	return w.Count(t, `SELECT on_hand FROM fulfillment.inventory WHERE sku = $1`, sku)
}

func TestDuplicateDeliveryHasOneEffect(t *testing.T) {
	w := startWorker(t)
	before := w.onHand(t, "SKU-3")
	e := placedEvent(t, "SKU-3", 4)
	w.publish(t, e)
	w.publish(t, e)
	w.settle(t, e.ID)
	if got, want := w.onHand(t, "SKU-3"), before-4; got != want {
		t.Errorf("SKU-3 on hand = %d; want %d (reserved once)", got, want)
	}
	if got := w.Messages(t, "order-updates"); got != 2 {
		t.Errorf("order-updates holds %d messages; want 2 (one outcome, one notification)", got)
	}
}

func TestPoisonMessageReachesDeadLetterQueue(t *testing.T) {
	w := startWorker(t)
	poison := `{"version":1,"id":"not-a-uuid"}`
	if _, err := w.SQS.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(w.QueueURL["fulfillment"]),
		MessageBody: aws.String(poison)}); err != nil {
		t.Fatal(err)
	}
	loadtest.Eventually(t, "the poison message is in the dead-letter queue", func() bool { return w.Messages(t, "fulfillment-dlq") == 1 })

	// The worker goes on with the next order.
	e := placedEvent(t, "SKU-9", 1)
	w.publish(t, e)
	w.settle(t, e.ID)
	out, err := w.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.QueueURL["fulfillment-dlq"])})
	if err != nil || len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != poison {
		t.Errorf("dead-letter queue holds %v, %v; want the poison message", out, err)
	}
}

// diesAfterPublishing publishes and then fails as if the relay's process died before marking the rows
// published.
type diesAfterPublishing struct{ outbox.Publisher }

func (d diesAfterPublishing) PublishBatch(ctx context.Context, topicARN string, msgs []messaging.Message) error {
	if err := d.Publisher.PublishBatch(ctx, topicARN, msgs); err != nil {
		return err
	}
	return errors.New("relay died before marking the batch published")
}

func TestRelayThatDiesRepublishesAndTheWorkerAppliesOnce(t *testing.T) {
	ctx := context.Background()
	w := startWorker(t)
	ordersPool := dbtest.Connect(t, w.DB.DSNFor(migrations.OrdersRole))
	svc := orders.NewService(ordersdb.New(ordersPool), slog.New(slog.DiscardHandler))
	before := w.onHand(t, "SKU-5")
	o, _, err := svc.Place(ctx, orders.NewOrder{CustomerEmail: "a@example.com", Items: []orders.Item{{SKU: "SKU-5", Quantity: 7, PriceCents: 10}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	var eventID string
	if err := w.Admin.QueryRow(ctx, `SELECT event_id::text FROM orders.outbox`).Scan(&eventID); err != nil {
		t.Fatal(err)
	}

	pub := messaging.NewPublisher(w.SNS)
	topics := outbox.RelayOptions{Topics: map[string]string{"order-events": w.TopicARN["order-events"]}}
	dying, err := outbox.NewRelay(ordersPool, ordersdb.OutboxTable, diesAfterPublishing{pub}, slog.New(slog.DiscardHandler), topics)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := dying.RelayOnce(ctx); n != 1 || err == nil {
		t.Fatalf("RelayOnce(dying) = %d, %v; want 1 row claimed and an error", n, err)
	}
	if got := w.Count(t, `SELECT count(*) FROM orders.outbox`); got != 1 {
		t.Fatalf("outbox rows after the relay died = %d; want 1 (left to be published again)", got)
	}
	relay, err := outbox.NewRelay(ordersPool, ordersdb.OutboxTable, pub, slog.New(slog.DiscardHandler), topics)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := relay.RelayOnce(ctx); n != 1 || err != nil {
		t.Fatalf("RelayOnce() = %d, %v; want 1 row published again", n, err)
	}

	w.settle(t, eventID)
	if got, want := w.onHand(t, "SKU-5"), before-7; got != want {
		t.Errorf("SKU-5 on hand = %d; want %d: order %s reserved once although delivered twice", got, want, o.ID)
	}
	if got := w.Count(t, `SELECT count(*) FROM fulfillment.reservations WHERE order_id = $1`, o.ID); got != 1 {
		t.Errorf("reservations of order %s = %d; want 1", o.ID, got)
	}
	if got := w.Messages(t, "order-updates"); got != 2 {
		t.Errorf("order-updates holds %d messages; want 2 (one outcome, one notification)", got)
	}
}

// The worker reads every variable its task definition sets (manifest.Environment, from infra/services.yaml) and
// requires no other: a misspelt name fails here rather than on the first deploy.
func TestReadsItsTaskEnvironment(t *testing.T) {
	m, err := manifest.Load("../../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range boot.EnvironmentProblems(m, "worker", func(getenv func(string) string) *config.Reader {
		c, _ := readSettings(getenv)
		return c.Env
	}) {
		t.Error(p)
	}
}
