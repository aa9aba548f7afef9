package manifest

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestLoadShippedManifest(t *testing.T) {
	m, err := Load("../../infra/services.yaml")
	if err != nil {
		t.Fatalf("Load(infra/services.yaml) = %v", err)
	}
	api, ok := m.Service("api")
	if !ok || api.Kind != KindWeb || api.HealthPath != "/healthz" {
		t.Errorf("Service(api) = %+v, %v; want a web service with /healthz", api, ok)
	}
	worker, ok := m.Service("worker")
	if !ok || worker.Kind != KindWorker {
		t.Fatalf("Service(worker) = %+v, %v; want a worker", worker, ok)
	}
	if got, want := worker.BacklogPerTaskTarget(), 2500.0; got != want {
		t.Errorf("worker.BacklogPerTaskTarget() = %v; want %v", got, want)
	}
	q, ok := m.Queue("fulfillment")
	if !ok {
		t.Fatal("Queue(fulfillment) not found")
	}
	if got, want := q.Subscriptions[0].FilterPolicyJSON(), `{"type":["order.placed"]}`; got != want {
		t.Errorf("FilterPolicyJSON() = %s; want %s", got, want)
	}
	if got, want := q.DeadLetterQueueName(), "fulfillment-dlq"; got != want {
		t.Errorf("DeadLetterQueueName() = %s; want %s", got, want)
	}
}

func TestEnvNames(t *testing.T) {
	if got, want := TopicEnv("order-events"), "ORDER_EVENTS_TOPIC_ARN"; got != want {
		t.Errorf("TopicEnv(order-events) = %s; want %s", got, want)
	}
	if got, want := QueueEnv("order-updates"), "ORDER_UPDATES_QUEUE_URL"; got != want {
		t.Errorf("QueueEnv(order-updates) = %s; want %s", got, want)
	}
}

const valid = `
topics: [{name: events}]
queues:
  - name: work
    visibility_timeout_seconds: 30
    max_receive_count: 3
    retention_seconds: 3600
    subscriptions: [{topic: events, raw_message_delivery: true}]
services:
  - {name: web, kind: web, command: web, port: 8080, health_path: /healthz, readiness_path: /readyz,
     path_pattern: /api/*, smoke: orders, database_user: web, publishes: [events], drain_seconds: 10}
  - {name: work, kind: worker, command: work, port: 8081, health_path: /healthz, readiness_path: /readyz,
     database_user: work, consumes: [work], drain_seconds: 30, acceptable_latency_seconds: 10, seconds_per_message: 1}
`

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name    string
		old     string
		new     string
		wantErr []string
	}{
		{"unknown key", "kind: web,", "kind: web, colour: red,", []string{"field colour not found"}},
		{"wrong type", "max_receive_count: 3", "max_receive_count: three", []string{"line 6", "three"}},
		{"unknown topic", "publishes: [events]", "publishes: [evnts]", []string{"services[0].publishes[0]", `unknown topic "evnts"`}},
		{"unknown queue", "consumes: [work]", "consumes: [jobs]", []string{"services[1].consumes[0]", `unknown queue "jobs"`, `queue "work" is consumed by no service`}},
		{"duplicate topic", "topics: [{name: events}]", "topics: [{name: events}, {name: events}]", []string{"topics[1].name", `topic "events" is declared twice`}},
		{"bad service name", "{name: web, kind: web,", "{name: Web_1, kind: web,", []string{"services[0].name", `"Web_1" must be 2-40 lowercase letters`}},
		{"bad kind", "kind: web,", "kind: lambda,", []string{"services[0].kind", "web or worker"}},
		{"duplicate port", "port: 8081", "port: 8080", []string{"services[1].port", `already used by service "web"`}},
		{"retention above dlq", "retention_seconds: 3600", "retention_seconds: 1209600", []string{"queues[0].retention_seconds"}},
		{"worker without scaling inputs", "seconds_per_message: 1", "seconds_per_message: 0", []string{"services[1]", "seconds_per_message"}},
		{"web service without a smoke test", "smoke: orders, ", "", []string{"services[0].smoke", "want orders"}},
		{"smoke path without /", "smoke: orders, ", "smoke: probes, smoke_paths: [hello], ", []string{"services[0].smoke_paths[0]", `"hello" must be a path`}},
		{"worker with a smoke test", "database_user: work,", "database_user: work, smoke: probes,", []string{"services[1].smoke", "a worker has no release smoke test"}},
		{"several problems at once", "port: 8081, health_path: /healthz", "port: 80, health_path: healthz", []string{"services[1].port", "services[1].health_path"}},
	}
	if _, err := Decode(strings.NewReader(valid)); err != nil {
		t.Fatalf("Decode(valid) = %v; want nil", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(valid, tt.old, tt.new, 1)
			if in == valid {
				t.Fatalf("test edit %q not applied", tt.old)
			}
			_, err := Decode(strings.NewReader(in))
			if err == nil {
				t.Fatalf("Decode() = nil error; want one mentioning %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Decode() error = %q; want it to mention %q", err, w)
				}
			}
		})
	}
}

// TestFilterPolicyTypesFromCatalog: a filter policy that names an event type its topic does not carry (a typo,
// or a type of another topic) fails at load time, with the key and the types the topic carries.
func TestFilterPolicyTypesFromCatalog(t *testing.T) {
	shipped, err := os.ReadFile("../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, old, new, want string }{
		{"misspelt type", `["order.placed"]`, `["order.placd"]`, `queues[0].subscriptions[0].filter_policy.type: "order.placd" is not an event type of topic "order-events"`},
		{"type of another topic", `["order.placed"]`, `["notification.order_rejected"]`, `"notification.order_rejected" is not an event type of topic "order-events"`},
		{"prefix matching nothing", `["order.placed"]`, `[{"prefix": "orders."}]`, `prefix "orders." matches no event type of topic "order-events"`},
	}
	if _, err := Decode(bytes.NewReader(shipped)); err != nil {
		t.Fatalf("shipped manifest: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(string(shipped), tt.old, tt.new, 1)
			if in == string(shipped) {
				t.Fatalf("test edit %q not applied", tt.old)
			}
			_, err := Decode(strings.NewReader(in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode() = %v; want an error containing %q", err, tt.want)
			}
		})
	}
	in := strings.Replace(string(shipped), `["order.placed"]`, `[{"prefix": "order."}]`, 1)
	if _, err := Decode(strings.NewReader(in)); err != nil {
		t.Errorf("a prefix that matches catalog types: Decode() = %v; want nil", err)
	}
}

// A service may declare no database: it loads, and its task environment has no DATABASE_* variable.
func TestServiceWithoutDatabase(t *testing.T) {
	s := Service{Name: "shipping", Command: "shipping", Port: 8082, DrainSeconds: 30}
	for k := range Environment(s, Where{}) {
		if strings.HasPrefix(k, "DATABASE_") {
			t.Errorf("Environment() sets %s for a service without database_user", k)
		}
	}
	s.DatabaseUser = "shipping"
	if _, ok := Environment(s, Where{})["DATABASE_USER"]; !ok {
		t.Error("Environment() sets no DATABASE_USER for a service with database_user")
	}
}

// directFIFO is valid plus a FIFO queue fed by direct sends, its consumer, and a sender with a secret.
var directFIFO = strings.Replace(valid, "services:\n", `  - name: ledger
    visibility_timeout_seconds: 30
    max_receive_count: 3
    retention_seconds: 3600
    fifo: true
    direct: true
  - name: jobs
    visibility_timeout_seconds: 30
    max_receive_count: 3
    retention_seconds: 3600
    subscriptions: [{topic: events, raw_message_delivery: true}]
services:
  - {name: ledger, kind: worker, command: ledger, port: 8082, health_path: /healthz, readiness_path: /readyz,
     consumes: [ledger], drain_seconds: 30, acceptable_latency_seconds: 10, seconds_per_message: 1}
  - {name: ship, kind: worker, command: ship, port: 8083, health_path: /healthz, readiness_path: /readyz,
     consumes: [jobs], sends: [ledger], secrets: [carrier-api-key], drain_seconds: 30, acceptable_latency_seconds: 10, seconds_per_message: 1}
`, 1)

// FIFO queues, direct sends and secrets: what loads, what each carries to the services, and each mistake named by
// its key.
func TestDirectQueuesAndSecrets(t *testing.T) {
	m, err := Decode(strings.NewReader(directFIFO))
	if err != nil {
		t.Fatalf("Decode() = %v", err)
	}
	q, _ := m.Queue("ledger")
	if q.PhysicalName() != "ledger.fifo" || q.DeadLetterQueueName() != "ledger-dlq.fifo" {
		t.Errorf("FIFO names = %s, %s; want ledger.fifo, ledger-dlq.fifo", q.PhysicalName(), q.DeadLetterQueueName())
	}
	ship, _ := m.Service("ship")
	env := Environment(ship, Where{QueueURL: func(n string) string { return "url:" + n }, TopicARN: func(n string) string { return n }})
	if env["LEDGER_QUEUE_URL"] != "url:ledger" {
		t.Errorf("Environment(ship)[LEDGER_QUEUE_URL] = %q; want the URL of the queue it sends to", env["LEDGER_QUEUE_URL"])
	}
	if _, ok := env["CARRIER_API_KEY"]; ok {
		t.Error("Environment(ship) sets the secret as a plain variable")
	}
	if got := SecretEnvironment(ship); got["CARRIER_API_KEY"] != "carrier-api-key" {
		t.Errorf("SecretEnvironment(ship) = %v; want CARRIER_API_KEY from carrier-api-key", got)
	}
	if got := Source(ship, "CARRIER_API_KEY"); got != "infra/services.yaml: services.ship.secrets (carrier-api-key)" {
		t.Errorf("Source(CARRIER_API_KEY) = %q", got)
	}

	for _, tt := range []struct{ name, old, new, want string }{
		{"queue fed by nothing", "    direct: true\n", "", `queues[1].subscriptions: queue "ledger" is fed by no topic`},
		{"FIFO queue subscribed to a standard topic", "    direct: true\n", "    direct: true\n    subscriptions: [{topic: events}]\n",
			`queues[1].subscriptions: FIFO queue "ledger" cannot be subscribed`},
		{"content-based deduplication on a standard queue", "    fifo: true\n", "    content_based_deduplication: true\n",
			"queues[1].content_based_deduplication: applies to FIFO queues only"},
		{"send to an unknown queue", "sends: [ledger]", "sends: [ledgr]", `services[1].sends[0]: unknown queue "ledgr"`},
		{"send to a queue fed by topics", "sends: [ledger]", "sends: [work]", `services[1].sends[0]: queue "work" is fed by topics; declare direct: true`},
		{"send to the queue consumed", "sends: [ledger]", "sends: [jobs]", `services[1].sends[0]: the service consumes queue "jobs" too`},
		{"secret named like a variable", "secrets: [carrier-api-key]", "secrets: [log-level]", `services[1].secrets[0]: secret "log-level" would be LOG_LEVEL`},
		{"secret declared twice", "secrets: [carrier-api-key]", "secrets: [carrier-api-key, carrier-api-key]", `secret "carrier-api-key" is declared twice`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(directFIFO, tt.old, tt.new, 1)
			if in == directFIFO {
				t.Fatalf("test edit %q not applied", tt.old)
			}
			_, err := Decode(strings.NewReader(in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode() = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

// A scheduled job loads with what it declares, gets its task environment without HTTP_ADDR, and each mistake is
// named by its key.
func TestJobs(t *testing.T) {
	in := directFIFO + `jobs:
  - name: nightly
    command: nightly
    schedule: cron(0 3 * * ? *)
    sends: [ledger]
    secrets: [report-key]
    drain_seconds: 30
`
	m, err := Decode(strings.NewReader(in))
	if err != nil {
		t.Fatalf("Decode() = %v", err)
	}
	j, ok := m.Job("nightly")
	if !ok || j.TaskCPU() != 256 || j.TaskMemory() != 512 {
		t.Fatalf("Job(nightly) = %+v, %v; want it with the default task size 256/512", j, ok)
	}
	env := Environment(j.Service(), Where{QueueURL: func(n string) string { return n }, TopicARN: func(n string) string { return n }})
	if _, ok := env["HTTP_ADDR"]; ok {
		t.Error("a job's environment sets HTTP_ADDR; a job serves nothing")
	}
	if env["LEDGER_QUEUE_URL"] != "ledger" || env["SHUTDOWN_TIMEOUT"] != "30s" {
		t.Errorf("a job's environment = %v; want its queue and its drain time", env)
	}
	if got := Source(j.Service(), "REPORT_KEY"); got != "infra/services.yaml: jobs.nightly.secrets (report-key)" {
		t.Errorf("Source(REPORT_KEY) = %q", got)
	}
	for _, tt := range []struct{ name, old, new, want string }{
		{"bad schedule", "cron(0 3 * * ? *)", "cron(0 3 * * * *)", "jobs[0].schedule: \"cron(0 3 * * * *)\": exactly one of day-of-month"},
		{"not an expression", "cron(0 3 * * ? *)", "daily", `jobs[0].schedule: "daily": want rate(value unit)`},
		{"a service's name", "  - name: nightly", "  - name: ship", `jobs[0].name: "ship" is a service's name too`},
		{"no command", "    command: nightly\n", "", "jobs[0].command: required"},
		{"unknown queue", "sends: [ledger]\n    secrets", "sends: [ledgr]\n    secrets", `jobs[0].sends[0]: unknown queue "ledgr"`},
		{"CPU Fargate lacks", "    drain_seconds: 30\n", "    drain_seconds: 30\n    cpu: 300\n", "jobs[0].cpu: 300 must be one of Fargate's CPU sizes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := strings.Replace(in, tt.old, tt.new, 1)
			if bad == in {
				t.Fatalf("test edit %q not applied", tt.old)
			}
			if _, err := Decode(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode() = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}
