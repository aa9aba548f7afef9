// Package loadtest runs the services' real binaries as processes, the way ECS runs them, against a throwaway
// PostgreSQL (package dbtest) and the embedded SQS/SNS endpoint, and puts them under HTTP load. The shutdown
// tests of cmd/api and cmd/worker and the end-to-end benchmarks (make bench) are built on it.
//
// Everything listens on loopback only, and every loop is bounded in count and time.
package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/localaws/localawstest"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/topology"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

// Queues and topics of the local system, by their names in infra/services.yaml.
const (
	FulfillmentDLQ = events.FulfillmentQueue + "-dlq"
)

// MaxReceiveCount is how many times a message of the fulfillment queue is received before it moves to its
// dead-letter queue.
const MaxReceiveCount = 3

// System is a database of the test's own and an embedded SQS/SNS endpoint with the system's queues, topics,
// subscriptions and filter policies.
type System struct {
	// DB is the migrated database; Admin is a pool on it as its owner, to check what the services stored.
	DB    *dbtest.Database
	Admin *pgxpool.Pool
	// SQS and SNS are clients of the endpoint.
	SQS *sqs.Client
	SNS *sns.Client
	// TopicARN and QueueURL map names to the endpoint's ARNs and URLs.
	TopicARN map[string]string
	QueueURL map[string]string

	endpoint string
}

// NewSystem starts a System for the test. The fulfillment queue's visibility timeout is visibility, so that
// a message left by a stopped worker comes back quickly; after MaxReceiveCount receives a message moves to
// its dead-letter queue.
func NewSystem(t testing.TB, visibility time.Duration) *System {
	t.Helper()
	return NewSystemOn(t, visibility, dbtest.NewDatabase(t))
}

// NewSystemOn is NewSystem on a database of the caller's, such as one of dbtest.NewUnmigratedServer.
func NewSystemOn(t testing.TB, visibility time.Duration, db *dbtest.Database) *System {
	t.Helper()
	ctx := context.Background()
	endpoint, srv := localawstest.New(t)
	m, err := manifest.Load(filepath.Join(devenvtest.Root(t), "infra", "services.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	topo := topology.Local(m)
	fq := topology.Queue(&topo, events.FulfillmentQueue)
	if fq == nil || fq.DeadLetterQueue != FulfillmentDLQ {
		t.Fatalf("the manifest has no queue %s with dead-letter queue %s", events.FulfillmentQueue, FulfillmentDLQ)
	}
	fq.Attributes["VisibilityTimeout"] = strconv.Itoa(int(visibility.Seconds()))
	fq.MaxReceiveCount = MaxReceiveCount
	err = srv.Apply(topo, endpoint)
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
	cfg.HTTPClient = localawstest.HTTPClient()
	s := &System{DB: db, Admin: dbtest.Connect(t, db.DSN()), SQS: sqs.NewFromConfig(cfg),
		TopicARN: map[string]string{}, QueueURL: map[string]string{}, endpoint: endpoint}
	s.SNS = sns.NewFromConfig(cfg)
	for _, name := range []string{events.OrderEventsTopic, events.NotificationsTopic} {
		out, err := s.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		s.TopicARN[name] = aws.ToString(out.TopicArn)
	}
	for _, name := range []string{events.FulfillmentQueue, FulfillmentDLQ, events.OrderUpdatesQueue} {
		out, err := s.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		s.QueueURL[name] = aws.ToString(out.QueueUrl)
	}
	return s
}

// env is what every service needs: logging, loopback HTTP on a free port, AWS and the database as role.
func (s *System) env(role string, shutdown time.Duration) map[string]string {
	return map[string]string{
		"LOG_FORMAT": "json", "LOG_LEVEL": "info", "HTTP_ADDR": "127.0.0.1:0", "SHUTDOWN_TIMEOUT": shutdown.String(),
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": s.endpoint, "AWS_ACCESS_KEY_ID": "test",
		"AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
		"DATABASE_HOST": s.DB.Host, "DATABASE_PORT": strconv.Itoa(s.DB.Port), "DATABASE_NAME": s.DB.Name,
		"DATABASE_USER": role, "DATABASE_PASSWORD": s.DB.ServicePassword, "DATABASE_CA_FILE": s.DB.CAFile,
	}
}

// APIEnv is the environment of cmd/api on this system.
func (s *System) APIEnv(shutdown time.Duration) map[string]string {
	env := s.env(migrations.OrdersRole, shutdown)
	env["ORDER_EVENTS_TOPIC_ARN"] = s.TopicARN[events.OrderEventsTopic]
	env["ORDER_UPDATES_QUEUE_URL"] = s.QueueURL[events.OrderUpdatesQueue]
	return env
}

// WorkerEnv is the environment of cmd/worker on this system.
func (s *System) WorkerEnv(shutdown time.Duration) map[string]string {
	env := s.env(migrations.FulfillmentRole, shutdown)
	env["ORDER_EVENTS_TOPIC_ARN"] = s.TopicARN[events.OrderEventsTopic]
	env["NOTIFICATIONS_TOPIC_ARN"] = s.TopicARN[events.NotificationsTopic]
	env["FULFILLMENT_QUEUE_URL"] = s.QueueURL[events.FulfillmentQueue]
	return env
}

// PostgresPID returns the pid of the system's PostgreSQL server, the postmaster: the parent of every backend.
func (s *System) PostgresPID(t testing.TB) int {
	t.Helper()
	var backend int
	if err := s.Admin.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		t.Fatal(err)
	}
	st, err := stat(backend)
	if err != nil {
		t.Fatal(err)
	}
	return st.ppid
}

// Count runs a query that returns one integer, as the database's owner.
func (s *System) Count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Admin.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Messages returns the number of messages in a queue, visible or in flight.
func (s *System) Messages(t testing.TB, queue string) int {
	t.Helper()
	out, err := s.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(s.QueueURL[queue]),
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	b, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return a + b
}

// Drain receives and deletes every visible message of a queue, at most limit, and returns their bodies.
func (s *System) Drain(t testing.TB, queue string, limit int) []string {
	t.Helper()
	ctx := context.Background()
	var bodies []string
	for len(bodies) < limit {
		out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.QueueURL[queue]),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if _, err := s.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.QueueURL[queue]),
				ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return bodies
}

// Eventually polls cond every 50 ms until it holds; the bound of a minute only stops a broken test from
// hanging.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
	}
}

// Process is a service binary running as a child process.
type Process struct {
	// Addr is the host:port its HTTP server listens on.
	Addr string
	// Output is everything it printed so far.
	Output *logtest.Buffer

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// Start runs the binary with exactly env as its environment, and waits until its HTTP server listens. The
// process is killed when the test ends if it is still running.
func Start(t testing.TB, binary string, env map[string]string) *Process {
	t.Helper()
	// No context: the process is stopped by signal (SIGTERM in Stop, SIGKILL in the clean-up), never by the
	// test's context, which ends before clean-ups that may still call Stop.
	p := &Process{Output: &logtest.Buffer{}, exited: make(chan struct{}), cmd: exec.Command(binary)} //nolint:noctx // stopped by signal, see above
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = io.MultiWriter(p.Output, pw), p.Output
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", binary, err)
	}
	go func() { p.waitErr = p.cmd.Wait(); _ = pw.Close(); close(p.exited) }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "http server listening" {
				addr <- line.Addr
				break
			}
		}
		_, _ = io.Copy(io.Discard, pr) // the rest is in Output; parsing it would take CPU from the load
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(binary), p.Output.String())
		}
	})
	select {
	case p.Addr = <-addr:
	case <-p.exited:
		t.Fatalf("%s exited before listening: %v\n%s", binary, p.waitErr, p.Output.String())
	case <-time.After(time.Minute):
		t.Fatalf("%s did not listen within a minute\n%s", binary, p.Output.String())
	}
	return p
}

// StartReady is Start followed by a wait until the process reports ready on /readyz, as a load balancer
// routes to a target only once it passes its checks: the services listen before their database is ready.
func StartReady(t testing.TB, binary string, env map[string]string) *Process {
	t.Helper()
	p := Start(t, binary, env)
	Eventually(t, filepath.Base(binary)+" reports ready", func() bool {
		code, _ := Probe(t, "http://"+p.Addr+"/readyz")
		return code == http.StatusOK
	})
	return p
}

// ErrKilled is returned by Stop when the process outlived its grace period and was killed.
var ErrKilled = errors.New("still running after the grace period: killed")

// Stop sends SIGTERM, as ECS does to stop a task, and waits up to grace for the process to exit; then it is
// killed (SIGKILL, as ECS does after the stop timeout) and Stop returns ErrKilled. Otherwise Stop returns the
// process's exit error: nil for exit status 0.
func (p *Process) Stop(grace time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("send SIGTERM: %w", err)
	}
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return ErrKilled
	}
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Migrate runs the migrate binary against db as its owner, as the pipeline's migration task does, giving the
// service roles db.ServicePassword (locally they log in with a password, on AWS with IAM).
func Migrate(t testing.TB, binary string, db *dbtest.Database) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, "up")
	cmd.Env = []string{"LOG_FORMAT=json", "DATABASE_HOST=" + db.Host, "DATABASE_PORT=" + strconv.Itoa(db.Port),
		"DATABASE_NAME=" + db.Name, "DATABASE_USER=" + db.User, "DATABASE_PASSWORD=" + db.Password,
		"DATABASE_CA_FILE=" + db.CAFile, "DATABASE_SERVICE_PASSWORD=" + db.ServicePassword}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s up: %v\n%s", binary, err, out)
	}
}

// Probe answers GET url's status code and body; a transport error fails the test.
func Probe(t testing.TB, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return res.StatusCode, string(b)
}
