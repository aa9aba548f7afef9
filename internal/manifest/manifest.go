// Package manifest reads the services manifest (infra/services.yaml): the topics, queues and services that make
// up the system. The CDK app creates them on AWS from it and `make up` creates the same topology locally, so
// the two cannot drift. The manifest holds the system's shape only; sizing lives in each environment's file.
package manifest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/schedule"
)

// Manifest is the decoded services manifest.
type Manifest struct {
	Topics   []Topic   `yaml:"topics" json:"topics"`
	Queues   []Queue   `yaml:"queues" json:"queues"`
	Services []Service `yaml:"services" json:"services"`
	Jobs     []Job     `yaml:"jobs" json:"jobs,omitempty"`
}

// Topic is an SNS topic.
type Topic struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description" json:"description,omitempty"`
}

// Queue is an SQS queue with its dead-letter queue and the topic subscriptions that feed it.
type Queue struct {
	Name                     string         `yaml:"name" json:"name"`
	Description              string         `yaml:"description" json:"description,omitempty"`
	VisibilityTimeoutSeconds int            `yaml:"visibility_timeout_seconds" json:"visibility_timeout_seconds"`
	MaxReceiveCount          int            `yaml:"max_receive_count" json:"max_receive_count"`
	RetentionSeconds         int            `yaml:"retention_seconds" json:"retention_seconds"`
	Subscriptions            []Subscription `yaml:"subscriptions" json:"subscriptions"`
	// FIFO makes the queue (and its dead-letter queue) a FIFO queue: messages of one message group are received
	// in the order sent, one at a time, and a message sent twice within 5 minutes with the same deduplication id
	// is stored once. Its name on AWS and locally ends in .fifo (PhysicalName).
	FIFO bool `yaml:"fifo" json:"fifo,omitempty"`
	// ContentBasedDeduplication (FIFO only) deduplicates by the SHA-256 of the body when a sender gives no
	// deduplication id.
	ContentBasedDeduplication bool `yaml:"content_based_deduplication" json:"content_based_deduplication,omitempty"`
	// Direct says the queue is fed by direct sends, not by topics: by the services that declare it in sends, or
	// by producers outside the system. A queue without subscriptions must say so.
	Direct bool `yaml:"direct" json:"direct,omitempty"`
}

// fifoSuffix ends the name of every FIFO queue: "The name of a FIFO queue must end with the .fifo suffix"
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/create-queue-cloudformation.html).
const fifoSuffix = ".fifo"

// PhysicalName is the queue's name on AWS and locally: its manifest name, with .fifo for a FIFO queue.
func (q Queue) PhysicalName() string { return q.physical(q.Name) }

// DeadLetterQueueName is the name of the queue's dead-letter queue: a FIFO queue's is a FIFO queue too ("the
// queue type must match the source queue type—a FIFO queue can only use a FIFO DLQ",
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue.html).
func (q Queue) DeadLetterQueueName() string { return q.physical(q.Name + "-dlq") }

func (q Queue) physical(name string) string {
	if q.FIFO {
		return name + fifoSuffix
	}
	return name
}

// DeadLetterRetentionSeconds is how long the dead-letter queue keeps messages: 14 days, the SQS maximum, so a
// message always outlives its stay in the source queue and can be inspected and redriven.
func (q Queue) DeadLetterRetentionSeconds() int { return 14 * 24 * 60 * 60 }

// Subscription subscribes a queue to a topic.
type Subscription struct {
	Topic              string         `yaml:"topic" json:"topic"`
	RawMessageDelivery bool           `yaml:"raw_message_delivery" json:"raw_message_delivery"`
	FilterPolicyScope  string         `yaml:"filter_policy_scope" json:"filter_policy_scope,omitempty"`
	FilterPolicy       map[string]any `yaml:"filter_policy" json:"filter_policy,omitempty"`
}

// FilterPolicyJSON returns the filter policy as the JSON document SNS expects, or "" when there is none.
func (s Subscription) FilterPolicyJSON() string {
	if len(s.FilterPolicy) == 0 {
		return ""
	}
	b, err := json.Marshal(s.FilterPolicy)
	if err != nil {
		// Load validated the policy by marshalling it, so this cannot happen for a loaded manifest.
		panic(fmt.Sprintf("manifest: filter policy of subscription to %s: %v", s.Topic, err))
	}
	return string(b)
}

// Kind tells how a service is reached and scaled.
type Kind string

// The kinds of service.
const (
	// KindWeb is a service behind the load balancer, scaled on requests per target and CPU.
	KindWeb Kind = "web"
	// KindWorker consumes queues and is scaled on backlog per task.
	KindWorker Kind = "worker"
	// KindJob is a scheduled job (Manifest.Jobs): a task that runs to completion, with no HTTP server.
	KindJob Kind = "job"
)

// The release smoke tests of a web service (Service.Smoke).
const (
	SmokeOrders = "orders"
	SmokeProbes = "probes"
)

// ImageBinary is the image's one binary (cmd/ecsr): it runs every service and the migration task, named by its
// first argument (a service's Command, or MigrateCommand), so the image does not grow with the services.
const ImageBinary = "/app/ecsr"

// MigrateCommand is the command of the migration task: `/app/ecsr migrate`.
const MigrateCommand = "migrate"

// EntryPoint is the container entry point that runs command from the image: ImageBinary then command. It is the
// entry point rather than the container's command, so that a command given to the container (a run-task
// override such as `status` for migrate) becomes the arguments of command.
func EntryPoint(command string) []string { return []string{ImageBinary, command} }

// Service is a long-running service: one ECS service on AWS, one process locally.
type Service struct {
	Name          string `yaml:"name" json:"name"`
	Description   string `yaml:"description" json:"description,omitempty"`
	Kind          Kind   `yaml:"kind" json:"kind"`
	Command       string `yaml:"command" json:"command"`
	Port          int    `yaml:"port" json:"port"`
	HealthPath    string `yaml:"health_path" json:"health_path"`
	ReadinessPath string `yaml:"readiness_path" json:"readiness_path"`
	PathPattern   string `yaml:"path_pattern" json:"path_pattern,omitempty"`
	// Smoke is a web service's release smoke test, which a blue/green deployment runs through the test listener
	// before production traffic (cmd/smokehook): SmokeOrders, the orders flow of internal/smoke, or SmokeProbes,
	// /healthz, /readyz and each of SmokePaths answering 200.
	Smoke        string   `yaml:"smoke" json:"smoke,omitempty"`
	SmokePaths   []string `yaml:"smoke_paths" json:"smoke_paths,omitempty"`
	DatabaseUser string   `yaml:"database_user" json:"database_user"`
	Publishes    []string `yaml:"publishes" json:"publishes"`
	Consumes     []string `yaml:"consumes" json:"consumes"`
	// Sends are the queues the service sends to directly, without a topic (SendMessage): their URL is in
	// <QUEUE>_QUEUE_URL and the task may send to them, and only to them.
	Sends []string `yaml:"sends" json:"sends,omitempty"`
	// Secrets are the service's own secrets: each is a Secrets Manager secret on AWS, injected by ECS into the
	// variable SecretEnv(name) when the task starts, and a file (or a variable) locally (docs/configuration.md,
	// "Secrets"). Their values are never in the task definition, the environment files or the logs.
	Secrets []string `yaml:"secrets" json:"secrets,omitempty"`
	// DrainSeconds is the longest the service takes to finish in-flight work after SIGTERM. The ECS stop
	// timeout is set above it and the load balancer's deregistration delay below it.
	DrainSeconds int `yaml:"drain_seconds" json:"drain_seconds"`
	// AcceptableLatencySeconds and SecondsPerMessage give a worker's scaling target: the backlog per task it may
	// carry is AcceptableLatencySeconds / SecondsPerMessage.
	AcceptableLatencySeconds float64 `yaml:"acceptable_latency_seconds" json:"acceptable_latency_seconds,omitempty"`
	SecondsPerMessage        float64 `yaml:"seconds_per_message" json:"seconds_per_message,omitempty"`
}

// Job is a scheduled job: a task that runs `ecsr <command>` to completion on its schedule, started on AWS by
// EventBridge Scheduler and by `make up` locally (or on demand: make job NAME=<name>). It declares what it uses as
// a service does; its task runs CPU and Memory (Fargate sizes; 256 and 512 when absent) in every environment.
type Job struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description" json:"description,omitempty"`
	Command     string `yaml:"command" json:"command"`
	// Schedule is an EventBridge Scheduler expression in UTC: rate(1 hour), cron(0 3 * * ? *) (package schedule).
	Schedule     string   `yaml:"schedule" json:"schedule"`
	DatabaseUser string   `yaml:"database_user" json:"database_user,omitempty"`
	Publishes    []string `yaml:"publishes" json:"publishes,omitempty"`
	Sends        []string `yaml:"sends" json:"sends,omitempty"`
	Secrets      []string `yaml:"secrets" json:"secrets,omitempty"`
	// DrainSeconds is how long the job may take to stop after SIGTERM (SHUTDOWN_TIMEOUT).
	DrainSeconds int `yaml:"drain_seconds" json:"drain_seconds"`
	CPU          int `yaml:"cpu" json:"cpu,omitempty"`
	Memory       int `yaml:"memory" json:"memory,omitempty"`
}

// fargateCPU are the CPU units of a Fargate task (preflight's fargate-size rule checks the memory that goes with
// each).
var fargateCPU = []int{256, 512, 1024, 2048, 4096, 8192, 16384}

// TaskCPU is the job's task CPU (Fargate units), 256 by default.
func (j Job) TaskCPU() int { return cmp.Or(j.CPU, 256) }

// TaskMemory is the job's task memory (MiB), 512 by default.
func (j Job) TaskMemory() int { return cmp.Or(j.Memory, 512) }

// Service is the job as the service kit and the task environment see it: KindJob, with what it uses.
func (j Job) Service() Service {
	return Service{Name: j.Name, Description: j.Description, Kind: KindJob, Command: j.Command, DatabaseUser: j.DatabaseUser,
		Publishes: j.Publishes, Sends: j.Sends, Secrets: j.Secrets, DrainSeconds: j.DrainSeconds}
}

// Job returns the job with the given name.
func (m *Manifest) Job(name string) (Job, bool) {
	for _, j := range m.Jobs {
		if j.Name == name {
			return j, true
		}
	}
	return Job{}, false
}

// BacklogPerTaskTarget is the number of visible messages per running task a worker is scaled to hold.
func (s Service) BacklogPerTaskTarget() float64 {
	if s.SecondsPerMessage <= 0 {
		return 0
	}
	return s.AcceptableLatencySeconds / s.SecondsPerMessage
}

// TopicEnv is the environment variable that carries a topic's ARN to a service: "order-events" gives
// ORDER_EVENTS_TOPIC_ARN.
func TopicEnv(topic string) string { return envName(topic) + "_TOPIC_ARN" }

// QueueEnv is the environment variable that carries a queue's URL to a service: "fulfillment" gives
// FULFILLMENT_QUEUE_URL.
func QueueEnv(queue string) string { return envName(queue) + "_QUEUE_URL" }

// SecretEnv is the environment variable that carries a secret's value to its service: "carrier-api-key" gives
// CARRIER_API_KEY.
func SecretEnv(secret string) string { return envName(secret) }

func envName(name string) string { return strings.ToUpper(strings.ReplaceAll(name, "-", "_")) }

// Topic returns the topic with the given name.
func (m *Manifest) Topic(name string) (Topic, bool) {
	for _, t := range m.Topics {
		if t.Name == name {
			return t, true
		}
	}
	return Topic{}, false
}

// Queue returns the queue with the given name.
func (m *Manifest) Queue(name string) (Queue, bool) {
	for _, q := range m.Queues {
		if q.Name == name {
			return q, true
		}
	}
	return Queue{}, false
}

// Service returns the service with the given name.
func (m *Manifest) Service(name string) (Service, bool) {
	for _, s := range m.Services {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

// WebServices returns the web services in the order their path patterns take precedence: more path segments
// before the wildcard first (/api/catalog/* before /api/*), then the manifest's order. The load balancer's rule
// priorities (infra/construct/loadbalancer.RoutePriorities) and make up's edge route in this order.
func (m *Manifest) WebServices() []Service {
	var out []Service
	for _, s := range m.Services {
		if s.Kind == KindWeb {
			out = append(out, s)
		}
	}
	segments := func(p string) int { return strings.Count(strings.TrimSuffix(strings.TrimSuffix(p, "*"), "/"), "/") }
	slices.SortStableFunc(out, func(a, b Service) int { return segments(b.PathPattern) - segments(a.PathPattern) })
	return out
}

// Load reads and validates the manifest at path.
func Load(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read services manifest: %w", err)
	}
	defer f.Close()
	m, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Decode decodes and validates a manifest strictly: an unknown key, a wrong type or a missing or invalid value
// is an error that names the key and the reason. Every problem found is reported, not only the first.
func Decode(r io.Reader) (*Manifest, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read services manifest: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("services manifest is empty")
		}
		return nil, fmt.Errorf("decode services manifest: %w", err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

var (
	namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,38}[a-z0-9]$`)
	rolePattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
)

// validate reports every problem in the manifest in one error, each naming its key.
func (m *Manifest) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(m.Topics) == 0 {
		bad("topics", "at least one topic is required")
	}
	if len(m.Services) == 0 {
		bad("services", "at least one service is required")
	}
	topics := map[string]bool{}
	// name checks the name at key against the pattern and against the names already seen of its kind.
	name := func(key, kind, n string, seen map[string]bool) {
		switch {
		case !namePattern.MatchString(n):
			bad(key, "%q must be 2-40 lowercase letters, digits or dashes, starting with a letter", n)
		case seen[n]:
			bad(key, "%s %q is declared twice", kind, n)
		}
		seen[n] = true
	}
	for i, t := range m.Topics {
		name(fmt.Sprintf("topics[%d].name", i), "topic", t.Name, topics)
	}
	queues := map[string]bool{}
	for i, q := range m.Queues {
		key := fmt.Sprintf("queues[%d]", i)
		name(key+".name", "queue", q.Name, queues)
		if q.VisibilityTimeoutSeconds < 1 || q.VisibilityTimeoutSeconds > 43200 {
			bad(key+".visibility_timeout_seconds", "%d must be between 1 and 43200", q.VisibilityTimeoutSeconds)
		}
		if q.MaxReceiveCount < 1 || q.MaxReceiveCount > 1000 {
			bad(key+".max_receive_count", "%d must be between 1 and 1000", q.MaxReceiveCount)
		}
		if q.RetentionSeconds < 60 || q.RetentionSeconds >= q.DeadLetterRetentionSeconds() {
			bad(key+".retention_seconds", "%d must be at least 60 and below the dead-letter queue's %d",
				q.RetentionSeconds, q.DeadLetterRetentionSeconds())
		}
		switch {
		case len(q.Subscriptions) == 0 && !q.Direct:
			bad(key+".subscriptions", "queue %q is fed by no topic: subscribe it to one, or declare direct: true when services "+
				"(their sends) or producers outside the system send to it", q.Name)
		case len(q.Subscriptions) > 0 && q.FIFO:
			// A FIFO queue keeps order and drops duplicates only for what is sent to it with a message group; SNS
			// does so only from a FIFO topic (https://docs.aws.amazon.com/sns/latest/dg/fifo-message-delivery.html),
			// and the manifest's topics are standard topics.
			bad(key+".subscriptions", "FIFO queue %q cannot be subscribed to the manifest's standard topics: feed it with direct "+
				"sends (direct: true and the senders' sends)", q.Name)
		}
		if q.ContentBasedDeduplication && !q.FIFO {
			bad(key+".content_based_deduplication", "applies to FIFO queues only; add fifo: true or remove it")
		}
		for j, s := range q.Subscriptions {
			skey := fmt.Sprintf("%s.subscriptions[%d]", key, j)
			if !topics[s.Topic] {
				bad(skey+".topic", "unknown topic %q", s.Topic)
			}
			switch s.FilterPolicyScope {
			case "", "MessageAttributes", "MessageBody":
			default:
				bad(skey+".filter_policy_scope", "%q must be MessageAttributes or MessageBody", s.FilterPolicyScope)
			}
			if _, err := json.Marshal(s.FilterPolicy); err != nil {
				bad(skey+".filter_policy", "not representable as JSON: %v", err)
			}
			for _, msg := range typeFilterProblems(s) {
				bad(skey+".filter_policy.type", "%s", msg)
			}
		}
	}
	// checkAccess checks what the service (or job) at key publishes to, sends to and reads as secrets.
	checkAccess := func(key string, s Service) {
		for j, t := range s.Publishes {
			if !topics[t] {
				bad(fmt.Sprintf("%s.publishes[%d]", key, j), "unknown topic %q", t)
			}
		}
		for j, q := range s.Sends {
			qkey := fmt.Sprintf("%s.sends[%d]", key, j)
			switch {
			case !queues[q]:
				bad(qkey, "unknown queue %q", q)
			case slices.Contains(s.Consumes, q):
				bad(qkey, "the service consumes queue %q too; a service does not send to itself", q)
			case !m.directQueue(q):
				bad(qkey, "queue %q is fed by topics; declare direct: true on it to let services send to it", q)
			}
		}
		secrets := map[string]bool{}
		for j, sec := range s.Secrets {
			name(fmt.Sprintf("%s.secrets[%d]", key, j), "secret", sec, secrets)
			if _, taken := Environment(s, everywhere)[SecretEnv(sec)]; taken {
				bad(fmt.Sprintf("%s.secrets[%d]", key, j), "secret %q would be %s, a variable the service already receives; rename it", sec, SecretEnv(sec))
			}
		}
	}
	services := map[string]bool{}
	ports := map[int]string{}
	patterns := map[string]string{} // path_pattern -> web service
	consumedBy := map[string]string{}
	for i, s := range m.Services {
		key := fmt.Sprintf("services[%d]", i)
		name(key+".name", "service", s.Name, services)
		switch s.Kind {
		case KindWeb:
			switch {
			case !strings.HasPrefix(s.PathPattern, "/"):
				bad(key+".path_pattern", "%q: a web service needs the path pattern the load balancer routes to it, such as /api/%s/*", s.PathPattern, s.Name)
			case patterns[s.PathPattern] != "":
				bad(key+".path_pattern", "%q is service %q's already; two rules with one pattern send every request to one of them", s.PathPattern, patterns[s.PathPattern])
			default:
				patterns[s.PathPattern] = s.Name
			}
			if s.Smoke != SmokeOrders && s.Smoke != SmokeProbes {
				bad(key+".smoke", "%q: want %s (the orders API's release test) or %s (/healthz, /readyz and smoke_paths)", s.Smoke, SmokeOrders, SmokeProbes)
			}
			for j, p := range s.SmokePaths {
				if !strings.HasPrefix(p, "/") || strings.Contains(p, ",") {
					bad(fmt.Sprintf("%s.smoke_paths[%d]", key, j), "%q must be a path starting with / (no comma)", p)
				}
			}
		case KindWorker:
			if s.Smoke != "" || len(s.SmokePaths) > 0 {
				bad(key+".smoke", "a worker has no release smoke test: it is not behind the load balancer")
			}
			if len(s.Consumes) == 0 {
				bad(key+".consumes", "a worker must consume at least one queue")
			}
			if s.AcceptableLatencySeconds <= 0 || s.SecondsPerMessage <= 0 {
				bad(key, "a worker needs acceptable_latency_seconds and seconds_per_message above 0 to derive its scaling target")
			} else if s.BacklogPerTaskTarget() < 1 {
				bad(key, "acceptable_latency_seconds / seconds_per_message is %.2f; it must be at least 1 message per task", s.BacklogPerTaskTarget())
			}
		default:
			bad(key+".kind", "%q must be web or worker", s.Kind)
		}
		if s.Command == "" {
			bad(key+".command", "required")
		}
		if s.Port < 1024 || s.Port > 65535 {
			bad(key+".port", "%d must be between 1024 and 65535", s.Port)
		} else if other, ok := ports[s.Port]; ok {
			bad(key+".port", "%d is already used by service %q", s.Port, other)
		} else {
			ports[s.Port] = s.Name
		}
		if !strings.HasPrefix(s.HealthPath, "/") {
			bad(key+".health_path", "%q must start with /", s.HealthPath)
		}
		if !strings.HasPrefix(s.ReadinessPath, "/") {
			bad(key+".readiness_path", "%q must start with /", s.ReadinessPath)
		}
		if s.DatabaseUser != "" && !rolePattern.MatchString(s.DatabaseUser) {
			bad(key+".database_user", "%q must be a lowercase PostgreSQL role name, or absent for a service without a database", s.DatabaseUser)
		}
		if s.DrainSeconds < 1 || s.DrainSeconds > 110 {
			bad(key+".drain_seconds", "%d must be between 1 and 110 (the ECS stop timeout is at most 120 s)", s.DrainSeconds)
		}
		checkAccess(key, s)
		for j, q := range s.Consumes {
			qkey := fmt.Sprintf("%s.consumes[%d]", key, j)
			switch {
			case !queues[q]:
				bad(qkey, "unknown queue %q", q)
			case consumedBy[q] != "":
				bad(qkey, "queue %q is already consumed by service %q; a queue has one consumer service", q, consumedBy[q])
			default:
				consumedBy[q] = s.Name
			}
		}
	}
	for _, q := range m.Queues {
		if queues[q.Name] && consumedBy[q.Name] == "" {
			bad("queues", "queue %q is consumed by no service", q.Name)
		}
	}
	jobs := map[string]bool{}
	for i, j := range m.Jobs {
		key := fmt.Sprintf("jobs[%d]", i)
		name(key+".name", "job", j.Name, jobs)
		if services[j.Name] {
			bad(key+".name", "%q is a service's name too; a job's log group, task definition and schedule are named after it", j.Name)
		}
		if j.Command == "" {
			bad(key+".command", "required")
		}
		if err := schedule.Validate(j.Schedule); err != nil {
			bad(key+".schedule", "%v", err)
		}
		if j.DatabaseUser != "" && !rolePattern.MatchString(j.DatabaseUser) {
			bad(key+".database_user", "%q must be a lowercase PostgreSQL role name, or absent for a job without a database", j.DatabaseUser)
		}
		if j.DrainSeconds < 1 || j.DrainSeconds > 110 {
			bad(key+".drain_seconds", "%d must be between 1 and 110 (the ECS stop timeout is at most 120 s)", j.DrainSeconds)
		}
		if !slices.Contains(fargateCPU, j.TaskCPU()) {
			bad(key+".cpu", "%d must be one of Fargate's CPU sizes %v", j.CPU, fargateCPU)
		}
		checkAccess(key, j.Service())
	}
	return errors.Join(errs...)
}

// directQueue says whether the queue named declares direct: true.
func (m *Manifest) directQueue(name string) bool {
	q, ok := m.Queue(name)
	return ok && q.Direct
}

// everywhere is a Where that sets every optional variable, so that Environment returns every name a service may
// receive.
var everywhere = Where{TopicARN: func(string) string { return "" }, QueueURL: func(string) string { return "" }, TraceSampleRatio: 1}

// typeFilterProblems checks the event types a subscription's filter policy matches on (the message attribute
// "type") against the event catalog of internal/events: each exact type must be one its topic carries, and
// each prefix must match at least one. A misspelt type would otherwise pass every check and the queue would
// never receive a message.
func typeFilterProblems(s Subscription) []string {
	matchers, ok := s.FilterPolicy["type"].([]any)
	if !ok || s.FilterPolicyScope == "MessageBody" {
		return nil
	}
	types, known := events.TypesOf(s.Topic)
	if !known {
		return []string{fmt.Sprintf("topic %q declares no event types in internal/events (catalog)", s.Topic)}
	}
	var problems []string
	for _, m := range matchers {
		switch m := m.(type) {
		case string:
			if !slices.Contains(types, events.Type(m)) {
				problems = append(problems, fmt.Sprintf("%q is not an event type of topic %q; it carries %v", m, s.Topic, types))
			}
		case map[string]any:
			if prefix, ok := m["prefix"].(string); ok && !slices.ContainsFunc(types, func(t events.Type) bool {
				return strings.HasPrefix(string(t), prefix)
			}) {
				problems = append(problems, fmt.Sprintf("prefix %q matches no event type of topic %q; it carries %v", prefix, s.Topic, types))
			}
		}
	}
	return problems
}
