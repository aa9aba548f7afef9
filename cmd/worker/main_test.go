package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/localaws"
	"github.com/ecs-reworked/ecs-reworked/internal/localaws/localawstest"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/orders"
	"github.com/ecs-reworked/ecs-reworked/internal/orders/ordersdb"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/outbox"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestConfigErrorListsEveryProblem(t *testing.T) {
	err := run(context.Background(), func(string) string { return "" }, &bytes.Buffer{})
	if err == nil {
		t.Fatal("run(empty environment) = nil; want a configuration error")
	}
	for _, key := range []string{"AWS_REGION", "ORDER_EVENTS_TOPIC_ARN", "NOTIFICATIONS_TOPIC_ARN", "FULFILLMENT_QUEUE_URL",
		"DATABASE_HOST", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("run(empty environment) = %v; want it to name %s", err, key)
		}
	}
	env := map[string]string{"SHUTDOWN_TIMEOUT": "forever", "LOG_FORMAT": "xml"}
	err = run(context.Background(), func(k string) string { return env[k] }, &bytes.Buffer{})
	for _, key := range []string{"SHUTDOWN_TIMEOUT", "LOG_FORMAT"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("run(bad %s) = %v; want it named", key, err)
		}
	}
}

func TestDefaultsFollowManifest(t *testing.T) {
	m, err := manifest.Load("../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := m.Service("worker")
	q, _ := m.Queue(queue)
	got := []string{defaultAddr, defaultShutdownTimeout.String(), queueVisibility.String(), queue,
		strings.Join([]string{"order-events", "notifications"}, ",")}
	want := []string{":" + strconv.Itoa(svc.Port), (time.Duration(svc.DrainSeconds) * time.Second).String(),
		(time.Duration(q.VisibilityTimeoutSeconds) * time.Second).String(), strings.Join(svc.Consumes, ","),
		strings.Join(svc.Publishes, ",")}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("worker setting %d = %s; infra/services.yaml says %s", i, got[i], want[i])
		}
	}
}

// worker is a running worker with the database and the embedded SQS/SNS endpoint it uses.
type worker struct {
	db       *dbtest.Database
	admin    *pgxpool.Pool
	sqs      *sqs.Client
	sns      *sns.Client
	topicARN map[string]string
	queueURL map[string]string
}

// startWorker runs the worker's run for the test, against a database and an endpoint of the test's own. The
// fulfillment queue's visibility timeout is 1 s and its maxReceiveCount 3 so a failing message reaches the
// dead-letter queue quickly.
func startWorker(t *testing.T) *worker {
	t.Helper()
	ctx := context.Background()
	db := dbtest.NewDatabase(t)
	endpoint, srv := localawstest.New(t)
	placedOnly := json.RawMessage(`{"type":["order.placed"]}`)
	outcomes := json.RawMessage(`{"type":["order.fulfilled","order.rejected"]}`)
	err := srv.Apply(localaws.Topology{
		Queues: []localaws.QueueSpec{
			{Name: "fulfillment-dlq"},
			{Name: "fulfillment", Attributes: map[string]string{"VisibilityTimeout": "1"}, DeadLetterQueue: "fulfillment-dlq", MaxReceiveCount: 3},
			{Name: "order-updates"},
		},
		Topics: []localaws.TopicSpec{
			{Name: "order-events", Subscriptions: []localaws.SubscriptionSpec{
				{Queue: "fulfillment", RawMessageDelivery: true, FilterPolicy: placedOnly},
				{Queue: "order-updates", RawMessageDelivery: true, FilterPolicy: outcomes},
			}},
			{Name: "notifications", Subscriptions: []localaws.SubscriptionSpec{{Queue: "order-updates", RawMessageDelivery: true}}},
		},
	}, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	cfg, err := messaging.LoadAWSConfig(ctx, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{db: db, admin: dbtest.Connect(t, db.DSN()), sqs: sqs.NewFromConfig(cfg), sns: sns.NewFromConfig(cfg),
		topicARN: map[string]string{}, queueURL: map[string]string{}}
	for _, name := range []string{"order-events", "notifications"} {
		out, err := w.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		w.topicARN[name] = aws.ToString(out.TopicArn)
	}
	for _, name := range []string{"fulfillment", "fulfillment-dlq", "order-updates"} {
		out, err := w.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		w.queueURL[name] = aws.ToString(out.QueueUrl)
	}
	env := map[string]string{
		"LOG_FORMAT": "text", "LOG_LEVEL": "warn", "HTTP_ADDR": "127.0.0.1:0", "SHUTDOWN_TIMEOUT": "10s",
		"AWS_REGION":              "us-east-1",
		"ORDER_EVENTS_TOPIC_ARN":  w.topicARN["order-events"],
		"NOTIFICATIONS_TOPIC_ARN": w.topicARN["notifications"],
		"FULFILLMENT_QUEUE_URL":   w.queueURL["fulfillment"],
		"DATABASE_HOST":           db.Host, "DATABASE_PORT": strconv.Itoa(db.Port), "DATABASE_NAME": db.Name,
		"DATABASE_USER": migrations.FulfillmentRole, "DATABASE_PASSWORD": db.ServicePassword, "DATABASE_CA_FILE": db.CAFile,
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	var out logtest.Buffer
	go func() { done <- run(runCtx, func(k string) string { return env[k] }, &out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker run() = %v; want a clean stop", err)
		}
		if t.Failed() {
			t.Logf("worker output:\n%s", out.String())
		}
	})
	return w
}

// eventually polls cond until it holds; the bound only stops a broken test from hanging.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
	}
}

func (w *worker) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := w.admin.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// messages returns the number of messages in a queue, visible or in flight.
func (w *worker) messages(t *testing.T, queue string) int {
	t.Helper()
	out, err := w.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(w.queueURL[queue]),
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	b, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return a + b
}

// settle waits until the worker handled every message of its queue and published every event it wrote.
func (w *worker) settle(t *testing.T, eventIDs ...string) {
	t.Helper()
	eventually(t, "the worker handled its queue and published its outbox", func() bool {
		return w.messages(t, "fulfillment") == 0 &&
			w.count(t, `SELECT count(*) FROM fulfillment.inbox WHERE event_id::text = ANY($1)`, eventIDs) == len(eventIDs) &&
			w.count(t, `SELECT count(*) FROM fulfillment.outbox`) == 0
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
	if _, err := w.sns.Publish(context.Background(), &sns.PublishInput{TopicArn: aws.String(w.topicARN["order-events"]),
		Message: aws.String(string(body)), MessageAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
}

func (w *worker) onHand(t *testing.T, sku string) int {
	return w.count(t, `SELECT on_hand FROM fulfillment.inventory WHERE sku = $1`, sku)
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
	if got := w.messages(t, "order-updates"); got != 2 {
		t.Errorf("order-updates holds %d messages; want 2 (one outcome, one notification)", got)
	}
}

func TestPoisonMessageReachesDeadLetterQueue(t *testing.T) {
	w := startWorker(t)
	poison := `{"version":1,"id":"not-a-uuid"}`
	if _, err := w.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(w.queueURL["fulfillment"]),
		MessageBody: aws.String(poison)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the poison message is in the dead-letter queue", func() bool { return w.messages(t, "fulfillment-dlq") == 1 })

	// The worker goes on with the next order.
	e := placedEvent(t, "SKU-9", 1)
	w.publish(t, e)
	w.settle(t, e.ID)
	out, err := w.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.queueURL["fulfillment-dlq"])})
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
	ordersPool := dbtest.Connect(t, w.db.DSNFor(migrations.OrdersRole))
	svc := orders.NewService(ordersdb.New(ordersPool), slog.New(slog.DiscardHandler))
	before := w.onHand(t, "SKU-5")
	o, _, err := svc.Place(ctx, orders.NewOrder{CustomerEmail: "a@example.com", Items: []orders.Item{{SKU: "SKU-5", Quantity: 7, PriceCents: 10}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	var eventID string
	if err := w.admin.QueryRow(ctx, `SELECT event_id::text FROM orders.outbox`).Scan(&eventID); err != nil {
		t.Fatal(err)
	}

	pub := messaging.NewPublisher(w.sns)
	topics := outbox.RelayOptions{Topics: map[string]string{"order-events": w.topicARN["order-events"]}}
	dying := outbox.NewRelay(ordersPool, ordersdb.OutboxTable, diesAfterPublishing{pub}, slog.New(slog.DiscardHandler), topics)
	if n, err := dying.RelayOnce(ctx); n != 1 || err == nil {
		t.Fatalf("RelayOnce(dying) = %d, %v; want 1 row claimed and an error", n, err)
	}
	if got := w.count(t, `SELECT count(*) FROM orders.outbox`); got != 1 {
		t.Fatalf("outbox rows after the relay died = %d; want 1 (left to be published again)", got)
	}
	relay := outbox.NewRelay(ordersPool, ordersdb.OutboxTable, pub, slog.New(slog.DiscardHandler), topics)
	if n, err := relay.RelayOnce(ctx); n != 1 || err != nil {
		t.Fatalf("RelayOnce() = %d, %v; want 1 row published again", n, err)
	}

	w.settle(t, eventID)
	if got, want := w.onHand(t, "SKU-5"), before-7; got != want {
		t.Errorf("SKU-5 on hand = %d; want %d: order %s reserved once although delivered twice", got, want, o.ID)
	}
	if got := w.count(t, `SELECT count(*) FROM fulfillment.reservations WHERE order_id = $1`, o.ID); got != 1 {
		t.Errorf("reservations of order %s = %d; want 1", o.ID, got)
	}
	if got := w.messages(t, "order-updates"); got != 2 {
		t.Errorf("order-updates holds %d messages; want 2 (one outcome, one notification)", got)
	}
}
