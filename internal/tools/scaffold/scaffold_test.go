package scaffold_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/connections"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/configdoc"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/scaffold"
)

// copyRepository copies the repository's files (tracked and new, as git lists them) into a temporary directory,
// with links to the installed node_modules the infrastructure's tests read.
func copyRepository(t *testing.T) string {
	t.Helper()
	root := devenvtest.Root(t)
	dst := t.TempDir()
	out, err := exec.CommandContext(t.Context(), "git", "-C", root, "ls-files", "-z", "-co", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		info, err := os.Lstat(src)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the work tree, or a link
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"node_modules", "infra/_spec/node_modules", "certs/node_modules"} {
		if _, err := os.Stat(filepath.Join(root, dir)); err == nil {
			if err := os.Symlink(filepath.Join(root, dir), filepath.Join(dst, dir)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dst
}

// newName is the name the tests give a new service: base (the runbook's examples, shipping and billing) unless
// the repository already has a service or queue of that name, as it does once someone has run the example, then
// base2 and on, so that make test still passes after make service.
func newName(t *testing.T, root, base string) string {
	t.Helper()
	m, err := manifest.Load(filepath.Join(root, scaffold.ManifestPath))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; ; i++ {
		name := base
		if i > 1 {
			name += strconv.Itoa(i)
		}
		_, svc := m.Service(name)
		_, queue := m.Queue(name)
		if !svc && !queue {
			return name
		}
	}
}

// Every mistake a newcomer can make is refused with the option and the reason, and nothing is written.
func TestRunRefusesBadOptions(t *testing.T) {
	root := copyRepository(t)
	shipping := newName(t, root, "shipping")
	before, _ := os.ReadFile(filepath.Join(root, scaffold.ManifestPath))
	for _, tc := range []struct {
		name string
		o    scaffold.Options
		want string
	}{
		{"bad name", scaffold.Options{Name: "Ship-ping", Kind: manifest.KindWorker, Subscribe: []events.Type{events.OrderFulfilled}}, `NAME="Ship-ping"`},
		{"web with a subscription", scaffold.Options{Name: "shop", Kind: manifest.KindWeb, Subscribe: []events.Type{events.OrderFulfilled}}, "KIND=web: a web service takes"},
		{"job with a bad schedule", scaffold.Options{Name: "nightly", Kind: manifest.KindJob, Schedule: "cron(0 3 * * * *)"}, "SCHEDULE:"},
		{"reserved", scaffold.Options{Name: "public", Kind: manifest.KindWorker, Subscribe: []events.Type{events.OrderFulfilled}, DB: true},
			"PostgreSQL or RDS"},
		{"no subscription", scaffold.Options{Name: shipping, Kind: manifest.KindWorker}, "SUBSCRIBE: a worker needs"},
		{"misspelt type", scaffold.Options{Name: shipping, Kind: manifest.KindWorker, Subscribe: []events.Type{"order.fulfiled"}},
			`event type "order.fulfiled" is in no topic of the event catalog`},
		{"existing service", scaffold.Options{Name: "worker", Kind: manifest.KindWorker, Subscribe: []events.Type{events.OrderFulfilled}},
			`services already has "worker"`},
		{"FIFO with a subscription", scaffold.Options{Name: shipping, Kind: manifest.KindWorker, FIFO: true, Subscribe: []events.Type{events.OrderFulfilled}},
			"FIFO=yes with SUBSCRIBE"},
		{"sends to a queue fed by topics", scaffold.Options{Name: shipping, Kind: manifest.KindWorker, Subscribe: []events.Type{events.OrderFulfilled},
			Sends: []string{"fulfillment"}}, `SENDS=fulfillment: infra/services.yaml has no queue "fulfillment" with direct: true`},
		{"bad secret name", scaffold.Options{Name: shipping, Kind: manifest.KindWorker, Subscribe: []events.Type{events.OrderFulfilled},
			Secrets: []string{"API_KEY"}}, `SECRETS: "API_KEY"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scaffold.Run(root, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run(%+v) = %v; want an error containing %q", tc.o, err, tc.want)
			}
		})
	}
	if after, _ := os.ReadFile(filepath.Join(root, scaffold.ManifestPath)); string(after) != string(before) {
		t.Error("a refused run changed the manifest")
	}
}

// TestNewServiceBuildsAndPasses does what a newcomer does, in a copy of the repository: `make service
// NAME=ledger KIND=worker FIFO=yes` (a FIFO queue other services send to), `make service NAME=shipping KIND=worker
// SUBSCRIBE=order.fulfilled SENDS=ledger SECRETS=carrier-api-key`, then `make service NAME=billing
// SUBSCRIBE=order.placed DB=yes`, and nothing else. The result builds, its tests and those that derive from the
// manifest pass, the configuration page and the diagram are current, and the stacks synthesize with the new
// queues (one FIFO), dead-letter queues, subscriptions, secret and services, their grants, scaling and alarms. A
// second run refuses to overwrite. In make up an order placed through the API reaches each new service, through
// shipping to ledger, and the secret's value is in no log line.
func TestNewServiceBuildsAndPasses(t *testing.T) {
	root := copyRepository(t)
	shipping, billing, ledger := newName(t, root, "shipping"), newName(t, root, "billing"), newName(t, root, "ledger")
	nightly, catalog := newName(t, root, "nightly"), newName(t, root, "catalog")
	// A web service: its routes under /api/<name>/, behind the load balancer and the local edge.
	if _, err := scaffold.Run(root, scaffold.Options{Name: catalog, Kind: manifest.KindWeb}); err != nil {
		t.Fatal(err)
	}
	if _, err := scaffold.Run(root, scaffold.Options{Name: ledger, Kind: manifest.KindWorker, FIFO: true}); err != nil {
		t.Fatal(err)
	}
	files, err := scaffold.Run(root, scaffold.Options{Name: shipping, Kind: manifest.KindWorker, Subscribe: []events.Type{events.OrderFulfilled},
		Sends: []string{ledger}, Secrets: []string{"carrier-api-key"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", strings.Join(files, ", "))
	if _, err := scaffold.Run(root, scaffold.Options{Name: shipping, Kind: manifest.KindWorker, Subscribe: []events.Type{events.OrderFulfilled}}); err == nil ||
		!strings.Contains(err.Error(), "never overwrites") {
		t.Errorf("a second run = %v; want a refusal to overwrite", err)
	}
	// A scheduled job, daily at 03:00 UTC, with a secret of its own.
	if _, err := scaffold.Run(root, scaffold.Options{Name: nightly, Kind: manifest.KindJob, Schedule: "cron(0 3 * * ? *)",
		Secrets: []string{"report-key"}}); err != nil {
		t.Fatal(err)
	}
	// A second service, with a database of its own: its schema, role, grants and inbox.
	if _, err := scaffold.Run(root, scaffold.Options{Name: billing, Kind: manifest.KindWorker,
		Subscribe: []events.Type{events.OrderPlaced}, DB: true}); err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Load(filepath.Join(root, scaffold.ManifestPath))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := configdoc.Update(filepath.Join(root, "docs", "configuration.md"), m); err != nil {
		t.Fatal(err)
	}
	run := func(dir string, env []string, name string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), name, args...)
		cmd.Dir = filepath.Join(root, dir)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out)
		}
	}
	run(".", nil, "go", "build", "./...")
	run(".", nil, "go", "vet", "./cmd/internal/"+shipping+"cmd", "./internal/"+shipping, "./cmd/internal/"+billing+"cmd",
		"./internal/"+billing, "./cmd/internal/"+ledger+"cmd", "./internal/"+ledger, "./cmd/internal/"+nightly+"cmd", "./internal/"+nightly,
		"./cmd/internal/"+catalog+"cmd", "./internal/"+catalog, "./cmd/ecsr", "./migrations")
	run(".", nil, "go", "test", "-count=1", "./cmd/internal/"+shipping+"cmd", "./internal/"+shipping, "./cmd/ecsr",
		"./cmd/internal/"+billing+"cmd", "./internal/"+billing, "./cmd/internal/"+ledger+"cmd", "./internal/"+ledger,
		"./cmd/internal/"+nightly+"cmd", "./internal/"+nightly, "./cmd/internal/"+catalog+"cmd", "./internal/"+catalog,
		"./internal/manifest", "./internal/topology", "./internal/tools/configdoc", "./cmd/internal/boot", "./migrations")
	jsii := []string{"CDK_DISABLE_CLI_TELEMETRY=true", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20"}
	run("infra", jsii, "go", "test", "-count=1", "./config/")
	// Each task of a service with a database may open 20 connections, and dev's db.t4g.micro allows 112 (make
	// preflight, rule db-connections): beside the api, the worker and a database service the repository may
	// already hold, the test's own would not fit. From here the copy's dev instance is one size up, so the stacks'
	// tests check the new services whatever the repository holds (the config tests above read the file as it is).
	roomForAnotherDatabaseService(t, root)
	run("infra", append(jsii, "CDK_OUTDIR=cdk.out"), "go", "run", ".")
	run(".", nil, "go", "run", "./cmd/diagram", "-env", "dev", "-assembly", "infra/cdk.out", "-out", "docs/architecture")
	run("infra", jsii, "go", "test", "-count=1", "./construct/service/", "./stacks/")

	// The dev stacks hold the queue, its dead-letter queue, the filtered subscription and the service.
	resources := func(stack string) map[string]struct {
		Type       string
		Properties map[string]any
	} {
		var tmpl struct {
			Resources map[string]struct {
				Type       string
				Properties map[string]any
			}
		}
		b, err := os.ReadFile(filepath.Join(root, "infra", "cdk.out", stack+".template.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &tmpl); err != nil {
			t.Fatal(err)
		}
		return tmpl.Resources
	}
	found := map[string]bool{}
	title := func(s string) string { return strings.ToUpper(s[:1]) + s[1:] } // the construct IDs' form of a name without hyphens
	pascal := title(shipping)
	for id, r := range resources("ecsr-dev-stateful") {
		switch {
		case strings.HasPrefix(id, "Messaging"+title(ledger)+"Queue") && r.Type == "AWS::SQS::Queue":
			found["FIFO queue ecsr-dev-"+ledger+".fifo"] = r.Properties["FifoQueue"] == true && r.Properties["QueueName"] == "ecsr-dev-"+ledger+".fifo"
		case strings.HasPrefix(id, "Messaging"+title(ledger)+"DeadLetterQueue") && r.Type == "AWS::SQS::Queue":
			found["FIFO dead-letter queue"] = r.Properties["FifoQueue"] == true
		case strings.HasPrefix(id, "Secrets"+pascal+"CarrierApiKey") && r.Type == "AWS::SecretsManager::Secret":
			found["secret carrier-api-key"] = true
		case strings.HasPrefix(id, "Messaging"+pascal+"Queue") && r.Type == "AWS::SQS::Queue":
			found["queue"] = true
		case strings.HasPrefix(id, "Messaging"+pascal+"DeadLetterQueue") && r.Type == "AWS::SQS::Queue":
			found["dead-letter queue"] = true
		case strings.HasPrefix(id, "Messaging"+pascal+"FromOrderEvents") && r.Type == "AWS::SNS::Subscription":
			b, _ := json.Marshal(r.Properties["FilterPolicy"])
			found["subscription filtered to order.fulfilled"] = string(b) == `{"type":["order.fulfilled"]}`
		}
	}
	for id, r := range resources("ecsr-dev-stateless") {
		if strings.HasPrefix(id, "Service"+shipping+"Task") && r.Type == "AWS::ECS::TaskDefinition" {
			b, _ := json.Marshal(r.Properties["ContainerDefinitions"])
			found["task running ecsr shipping with its queue's URL"] = strings.Contains(string(b), `"EntryPoint":["/app/ecsr","`+shipping+`"]`) &&
				strings.Contains(string(b), `"`+manifest.QueueEnv(shipping)+`"`)
			found["task with ledger's URL and the secret from Secrets Manager"] = strings.Contains(string(b), `"`+manifest.QueueEnv(ledger)+`"`) &&
				strings.Contains(string(b), `"Secrets":[{"Name":"CARRIER_API_KEY","ValueFrom":{"Fn::ImportValue":"ecsr-dev-stateful:ExportsOutputRefSecrets`+pascal+`CarrierApiKey`)
		}
		if r.Type == "AWS::ElasticLoadBalancingV2::ListenerRule" {
			b, _ := json.Marshal(r.Properties["Conditions"])
			switch {
			case strings.Contains(string(b), `"/api/`+catalog+`/*"`):
				found["the catalog's listener rule before the api's"] = r.Properties["Priority"] == float64(8010)
			case strings.Contains(string(b), `"/api/*"`):
				found["the api's listener rule"] = r.Properties["Priority"] == float64(9010)
			}
		}
		if strings.HasPrefix(id, "Job"+nightly+"Schedule") && r.Type == "AWS::Scheduler::Schedule" {
			b, _ := json.Marshal(r.Properties)
			found["the job's schedule running its task daily"] = r.Properties["ScheduleExpression"] == "cron(0 3 * * ? *)" &&
				strings.Contains(string(b), `"TaskDefinitionArn":{"Ref":"Job`+nightly+`Task`) && strings.Contains(string(b), `"DeadLetterConfig"`)
		}
		if strings.HasPrefix(id, "Job"+nightly+"Task") && r.Type == "AWS::ECS::TaskDefinition" {
			b, _ := json.Marshal(r.Properties["ContainerDefinitions"])
			found["the job's task running ecsr "+nightly+" with its secret"] = strings.Contains(string(b), `"EntryPoint":["/app/ecsr","`+nightly+`"]`) &&
				strings.Contains(string(b), `"Name":"REPORT_KEY"`)
		}
		if strings.HasPrefix(id, "Service"+shipping+"TaskRoleDefaultPolicy") && r.Type == "AWS::IAM::Policy" {
			b, _ := json.Marshal(r.Properties["PolicyDocument"])
			found["shipping's sqs:SendMessage on ledger"] = strings.Contains(string(b), `"sqs:SendMessage"`) &&
				strings.Contains(string(b), "Messaging"+title(ledger)+"Queue")
		}
		if strings.HasPrefix(id, "Service"+shipping+"Service") && r.Type == "AWS::ECS::Service" {
			found["ECS service"] = true
		}
		if strings.HasPrefix(id, "Service"+billing+"TaskRoleDefaultPolicy") && r.Type == "AWS::IAM::Policy" {
			b, _ := json.Marshal(r.Properties["PolicyDocument"])
			found["billing's rds-db:connect as billing"] = strings.Contains(string(b), `"rds-db:connect"`) && strings.Contains(string(b), `/`+billing+`"`)
		}
	}
	for _, want := range []string{"queue", "dead-letter queue", "subscription filtered to order.fulfilled",
		"task running ecsr shipping with its queue's URL", "ECS service", "billing's rds-db:connect as billing",
		"FIFO queue ecsr-dev-" + ledger + ".fifo", "FIFO dead-letter queue", "secret carrier-api-key",
		"task with ledger's URL and the secret from Secrets Manager", "shipping's sqs:SendMessage on ledger",
		"the catalog's listener rule before the api's", "the api's listener rule",
		"the job's schedule running its task daily", "the job's task running ecsr " + nightly + " with its secret"} {
		if !found[want] {
			t.Errorf("the dev stacks lack the new service's %s", want)
		}
	}

	// make up runs it: an order placed through the API reaches its log, prefixed with its name, once fulfilled.
	bin := t.TempDir()
	run(".", nil, "go", "build", "-o", bin+string(filepath.Separator), "./cmd/...")
	sys := devenvtest.StartIn(t, root, bin)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, sys.URL+"/api/orders", strings.NewReader(
		`{"customer_email":"new@example.com","items":[{"sku":"SKU-1","quantity":1,"price_cents":1250}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var order struct{ ID string }
	err = json.NewDecoder(resp.Body).Decode(&order)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/orders = %d, %v", resp.StatusCode, err)
	}
	for service, typ := range map[string]string{shipping: `order\.fulfilled`, billing: `order\.placed`, ledger: `order\.fulfilled`} {
		logged := regexp.MustCompile(`(?m)^` + service + `\s*\|.*event received.*type=` + typ + `.*order_id=` + regexp.QuoteMeta(order.ID))
		for deadline := time.Now().Add(time.Minute); !logged.MatchString(sys.Output.String()); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never logged order %s:\n%s", service, order.ID, sys.Output.String())
			}
		}
	}
	// The edge routes /api/<catalog>/ to the web service, as the load balancer's rule does on AWS.
	hello, err := http.Get(sys.URL + "/api/" + catalog + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]string
	err = json.NewDecoder(hello.Body).Decode(&answer)
	_ = hello.Body.Close()
	if err != nil || hello.StatusCode != http.StatusOK || answer["service"] != catalog {
		t.Errorf("GET /api/%s/hello through the edge = %d %v, %v; want the %s service's answer", catalog, hello.StatusCode, answer, err, catalog)
	}
	// make up runs the job on demand (make job), as its schedule would: it runs once and finishes.
	job := exec.CommandContext(t.Context(), filepath.Join(bin, "devenv"), "-run-job", nightly, "-addr", strings.TrimPrefix(sys.URL, "http://"), "-bin", bin)
	job.Dir = root
	if out, err := job.CombinedOutput(); err != nil {
		t.Fatalf("make job NAME=%s: %v\n%s", nightly, err, out)
	}
	ran := regexp.MustCompile(`(?m)^` + nightly + `\s*\|.*job ran`)
	finished := regexp.MustCompile(`(?m)^devenv\s*\|\s*job ` + nightly + ` finished`)
	for deadline := time.Now().Add(time.Minute); !ran.MatchString(sys.Output.String()) || !finished.MatchString(sys.Output.String()); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("job %s did not run and finish:\n%s", nightly, sys.Output.String())
		}
	}
	// make up gave shipping its secret from .local/secrets (generated on the first run), and no line shows it.
	secret, err := os.ReadFile(filepath.Join(root, ".local", "secrets", shipping, "carrier-api-key"))
	if err != nil || len(strings.TrimSpace(string(secret))) < 32 {
		t.Fatalf("make up's secret of %s: %q, %v; want a generated value", shipping, secret, err)
	}
	if strings.Contains(sys.Output.String(), strings.TrimSpace(string(secret))) {
		t.Errorf("make up's output shows the value of secret carrier-api-key")
	}
}

// roomForAnotherDatabaseService gives the copy's dev environment a db.t4g.small (225 connections) in place of its
// db.t4g.micro (112).
func roomForAnotherDatabaseService(t *testing.T, root string) {
	t.Helper()
	path := filepath.Join(root, scaffold.EnvDir, "dev.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Replace(string(b), "instance_class: t4g.micro", "instance_class: t4g.small", 1)
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// docs/runbook.md's "Add a service" states the pool size that limits a database service's tasks: the code's.
func TestRunbookStatesThePoolSize(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(devenvtest.Root(t), "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("each task's pool takes %d connections", connections.PerServiceTask); !strings.Contains(string(b), want) {
		t.Errorf("docs/runbook.md does not say %q (connections.PerServiceTask)", want)
	}
}
