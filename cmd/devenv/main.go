// Command devenv runs the whole system on one machine, the way it runs on AWS: a durable PostgreSQL that
// accepts only TLS (like RDS with rds.force_ssl=1), the embedded SQS/SNS endpoint with the topics, queues,
// dead-letter queues, subscriptions and filter policies of infra/services.yaml, the migrations, and the API and
// the worker as separate processes configured only by environment variables. A local edge on one address serves
// the web UI and routes /api/* to the API, as CloudFront does. Ctrl-C stops everything in order; nothing is
// left running or listening. `make up` builds the binaries and runs it.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/pgserver"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/tracestore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "devenv: %v\n", err)
		os.Exit(1)
	}
}

// config is devenv's configuration, from flags with defaults from the environment.
type config struct {
	addr     string // the edge: web UI and /api/*
	awsAddr  string // the embedded SQS/SNS endpoint
	dbPort   int
	manifest string
	binDir   string
	webDir   string
	region   string
	account  string
	restart  restartPolicy
	// secrets is the directory of the services' secrets (secrets.go); secretEnv the environment that may
	// override them.
	secrets   string
	secretEnv func(string) string
	// runJob, when set, asks the make up running on addr to run that job now (make job), and exits.
	runJob string
	// dbPassword is the PostgreSQL superuser's password: DB_SUPERUSER_PASSWORD, for tools that inspect the
	// database (the chaos suite), or a random one. It is an environment variable, not a flag, so that it does
	// not show in the process list; it is never printed.
	dbPassword string
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	or := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	exe, _ := os.Executable()
	fs := flag.NewFlagSet("devenv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.addr, "addr", or("ADDR", "127.0.0.1:8080"), "address of the web UI and the API (env ADDR)")
	fs.StringVar(&c.awsAddr, "aws-addr", or("AWS_ADDR", "127.0.0.1:4566"), "address of the embedded SQS/SNS endpoint (env AWS_ADDR)")
	dbPort := fs.String("db-port", or("DB_PORT", "0"), "PostgreSQL port; 0 picks a free one (env DB_PORT)")
	fs.StringVar(&c.manifest, "manifest", "infra/services.yaml", "services manifest: topics, queues and services")
	fs.StringVar(&c.binDir, "bin", filepath.Dir(exe), "directory holding the ecsr, migrate and localaws binaries")
	fs.StringVar(&c.webDir, "web", defaultWebDir(), "directory of the static web UI")
	fs.StringVar(&c.region, "region", "us-east-1", "region used in local ARNs")
	fs.StringVar(&c.secrets, "secrets", ".local/secrets", "directory of the services' secrets, <service>/<secret> (docs/configuration.md, \"Secrets\")")
	c.secretEnv = getenv
	fs.StringVar(&c.runJob, "run-job", "", "run this scheduled job now in the make up running on -addr, and exit (make job NAME=<name>)")
	fs.StringVar(&c.account, "account", "000000000000", "account id used in local ARNs and queue URLs")
	c.dbPassword = getenv("DB_SUPERUSER_PASSWORD")
	c.restart = defaultRestartPolicy
	fs.IntVar(&c.restart.maxCrashes, "max-crashes", c.restart.maxCrashes, "crashes in a row of a service that devenv restarts before it gives up")
	fs.DurationVar(&c.restart.firstDelay, "restart-delay", c.restart.firstDelay, "back-off before the first restart of a crashed service; doubles per crash in a row")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if c.restart.maxCrashes < 0 || c.restart.firstDelay <= 0 {
		return config{}, fmt.Errorf("-max-crashes must be >= 0 and -restart-delay > 0")
	}
	var errs []error
	p, err := strconv.Atoi(*dbPort)
	if err != nil || p < 0 || p > 65535 {
		errs = append(errs, fmt.Errorf("-db-port: %q is not a port number", *dbPort))
	}
	c.dbPort = p
	for name, a := range map[string]string{"-addr": c.addr, "-aws-addr": c.awsAddr} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port: %w", name, a, err))
		}
	}
	for _, b := range []string{"ecsr", "migrate", "localaws"} {
		if _, err := os.Stat(filepath.Join(c.binDir, b)); err != nil {
			errs = append(errs, fmt.Errorf("-bin: %s has no %s binary (run `make build`)", c.binDir, b))
		}
	}
	return c, errors.Join(errs...)
}

// defaultWebDir is the built UI when there is one, else its sources.
func defaultWebDir() string {
	if _, err := os.Stat("web/dist/index.html"); err == nil {
		return "web/dist"
	}
	return "web"
}

// system is the local system while it runs; stop tears it down in reverse order of start.
type system struct {
	out       *syncWriter
	db        *pgserver.Server
	aws       *process
	services  []*service
	drain     map[*service]time.Duration
	restart   restartPolicy
	dbWatch   context.CancelFunc
	dbWatched chan struct{}
	edge      *http.Server
	cancelTap context.CancelFunc
	tapDone   chan struct{}
	tmp       string
	traces    *tracestore.Store
	tracesSrv *http.Server
	jobs      *jobRunner
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	out := &syncWriter{w: stdout}
	cfg, err := parseConfig(args, getenv, stdout)
	if err != nil {
		return err
	}
	if cfg.runJob != "" {
		return requestJob(ctx, cfg.addr, cfg.runJob, stdout)
	}
	m, err := manifest.Load(cfg.manifest)
	if err != nil {
		return err
	}
	started := time.Now()
	sys := &system{out: out, drain: map[*service]time.Duration{}, restart: cfg.restart}
	if err := sys.start(ctx, cfg, m); err != nil {
		return errors.Join(err, sys.stop())
	}
	out.Printf("ready in %s", time.Since(started).Round(10*time.Millisecond))
	printBanner(out, cfg, sys)

	// Run until Ctrl-C, until the SQS/SNS endpoint dies (it holds every message: like losing SQS itself, there
	// is nothing to recover), or until devenv gives up on a service that keeps crashing. A service process
	// that exits is replaced, and PostgreSQL is restarted with crash recovery, as on AWS.
	errc := make(chan error, len(sys.services)+1)
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { errc <- sys.aws.waitExit(waitCtx) }()
	for _, svc := range sys.services {
		go func() { errc <- svc.waitFailed(waitCtx) }()
	}
	select {
	case <-ctx.Done():
		out.Printf("stopping")
		return sys.stop()
	case err := <-errc:
		if stopErr := sys.stop(); stopErr != nil {
			return errors.Join(err, stopErr)
		}
		return err
	}
}

func (s *system) start(ctx context.Context, cfg config, m *manifest.Manifest) error {
	var err error
	if s.tmp, err = os.MkdirTemp("", "devenv-"); err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}

	// PostgreSQL and the SQS/SNS endpoint do not depend on each other: start both, then wait for both.
	dbc := make(chan error, 1)
	go func() {
		var err error
		// Durable, as RDS is: a crash of the local database (or of the machine) loses no acknowledged order.
		s.db, err = pgserver.Start(ctx, pgserver.Options{Port: cfg.dbPort, Password: cfg.dbPassword, Durable: true})
		dbc <- err
	}()
	initFile := filepath.Join(s.tmp, "localaws.json")
	if err := writeTopology(initFile, m); err != nil {
		return errors.Join(err, <-dbc)
	}
	s.aws, err = startProcess("localaws", s.out, filepath.Join(cfg.binDir, "localaws"),
		[]string{"-addr", cfg.awsAddr, "-init", initFile, "-region", cfg.region, "-account", cfg.account}, environ())
	if err != nil {
		return errors.Join(err, <-dbc)
	}
	s.out.Printf("localaws started (pid %d)", s.aws.cmd.Process.Pid)
	if err := <-dbc; err != nil {
		return fmt.Errorf("start PostgreSQL: %w", err)
	}
	s.out.Printf("PostgreSQL %s:%d (TLS only, CA %s, pid %d)", s.db.Host, s.db.Port, s.db.CAFile, s.db.PID())
	s.watchDatabase()
	awsURL := "http://" + cfg.awsAddr
	if err := waitHTTP(ctx, awsURL+"/", s.aws, 10*time.Second, func(int) bool { return true }); err != nil {
		return fmt.Errorf("embedded SQS/SNS endpoint on %s (choose another with AWS_ADDR=host:port): %w", cfg.awsAddr, err)
	}

	const dbName = "ecsreworked"
	if err := s.db.CreateDatabase(ctx, dbName); err != nil {
		return err
	}
	servicePassword := randomSecret()
	dbEnv := func(user, password string) []string {
		return []string{
			"DATABASE_HOST=" + s.db.Host, "DATABASE_PORT=" + strconv.Itoa(s.db.Port), "DATABASE_NAME=" + dbName,
			"DATABASE_USER=" + user, "DATABASE_PASSWORD=" + password, "DATABASE_SSLMODE=verify-full",
			"DATABASE_CA_FILE=" + s.db.CAFile,
		}
	}
	migrate, err := startProcess("migrate", s.out, filepath.Join(cfg.binDir, "migrate"), []string{"up"},
		environ(append(dbEnv(s.db.User, s.db.Password), "LOG_FORMAT=text", "DATABASE_SERVICE_PASSWORD="+servicePassword)...))
	if err != nil {
		return err
	}
	<-migrate.done
	if err := migrate.exitErr(); err != nil {
		return fmt.Errorf("migrations failed: %w", err)
	}

	// The services, as separate processes with the environment ECS gives them (docs/configuration.md).
	tap := newTap(s.out, awsURL, cfg)
	tapCtx, cancel := context.WithCancel(context.Background())
	s.cancelTap, s.tapDone = cancel, make(chan struct{})
	go func() { defer close(s.tapDone); tap.Run(tapCtx) }()

	traceEnv, err := s.startTraces(ctx)
	if err != nil {
		return err
	}
	// environment is what ECS gives the task of svc (docs/configuration.md), with local endpoints and extra.
	environment := func(svc manifest.Service, extra ...string) ([]string, error) {
		var env []string
		if svc.DatabaseUser != "" { // a service without database_user has no database
			env = dbEnv(svc.DatabaseUser, servicePassword)
		}
		env = append(env, extra...)
		env = append(env, "LOG_FORMAT=text", "LOG_LEVEL=info",
			"AWS_REGION="+cfg.region, "AWS_ENDPOINT_URL="+awsURL,
			"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
			"SHUTDOWN_TIMEOUT="+(time.Duration(svc.DrainSeconds)*time.Second).String())
		env = append(env, traceEnv...)
		secrets, err := secretEnvironment(cfg, svc, s.out)
		if err != nil {
			return nil, err
		}
		env = append(env, secrets...)
		for _, t := range svc.Publishes {
			env = append(env, manifest.TopicEnv(t)+"="+topicARN(cfg, t))
		}
		for _, q := range slices.Concat(svc.Consumes, svc.Sends) {
			mq, _ := m.Queue(q)
			env = append(env, manifest.QueueEnv(q)+"="+queueURL(cfg, mq.PhysicalName()))
		}
		return env, nil
	}
	addrs := map[string]string{}
	for _, svc := range m.Services {
		addr, err := freeAddr(ctx)
		if err != nil {
			return err
		}
		addrs[svc.Name] = addr
		env, err := environment(svc, "HTTP_ADDR="+addr)
		if err != nil {
			return err
		}
		// As in the image: the one binary, `ecsr <command>` (cmd/ecsr).
		bin, args, env := filepath.Join(cfg.binDir, "ecsr"), []string{svc.Command}, environ(env...)
		p, err := supervise(svc.Name, s.out, s.restart, func() (*process, error) {
			return startProcess(svc.Name, s.out, bin, args, env)
		})
		if err != nil {
			return err
		}
		s.services = append(s.services, p)
		s.drain[p] = time.Duration(svc.DrainSeconds)*time.Second + 5*time.Second
	}
	for i, svc := range m.Services {
		ready := "http://" + addrs[svc.Name] + svc.ReadinessPath
		if err := waitHTTP(ctx, ready, s.services[i].current(), 30*time.Second, func(code int) bool { return code == http.StatusOK }); err != nil {
			return fmt.Errorf("%s not ready: %w", svc.Name, err)
		}
	}

	// The edge, standing in for CloudFront and the load balancer's listener rules.
	var routes []edgeRoute
	for _, web := range m.WebServices() {
		routes = append(routes, edgeRoute{name: web.Name, pattern: web.PathPattern, target: &url.URL{Scheme: "http", Host: addrs[web.Name]},
			probes: web.Name == firstWeb(m)})
	}
	if len(routes) == 0 {
		return errors.New("the manifest declares no web service for the edge to route /api/* to")
	}
	// The scheduled jobs, on their schedules, and on demand through the edge (make job NAME=<name>).
	s.jobs, err = newJobRunner(s.out, filepath.Join(cfg.binDir, "ecsr"), m.Jobs, func(j manifest.Service) ([]string, error) { return environment(j) })
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s (choose another with ADDR=host:port): %w", cfg.addr, err)
	}
	s.jobs.start()
	s.edge = newEdgeServer(s.jobs.handler(withTraces(newEdge(routes, cfg.webDir), s.traces)))
	go func() { _ = s.edge.Serve(ln) }()
	return nil
}

// stop stops the edge, then the services (draining, as ECS does with SIGTERM), then the endpoint and the
// database. It is safe to call more than once.
func (s *system) stop() error {
	var errs []error
	if s.edge != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.edge.Shutdown(ctx)
		cancel()
		s.edge = nil
	}
	if s.jobs != nil {
		s.jobs.stop()
		s.jobs = nil
	}
	done := make(chan error, len(s.services))
	for _, p := range s.services {
		go func() { done <- p.stop(s.drain[p]) }()
	}
	for range s.services {
		if err := <-done; err != nil {
			errs = append(errs, err)
		}
	}
	s.services = nil
	s.stopTraces()
	if s.cancelTap != nil {
		s.cancelTap()
		<-s.tapDone
		s.cancelTap = nil
	}
	if s.dbWatch != nil {
		s.dbWatch()
		<-s.dbWatched
		s.dbWatch = nil
	}
	if s.aws != nil {
		if err := s.aws.stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
		s.aws = nil
	}
	if s.db != nil {
		if err := s.db.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop PostgreSQL: %w", err))
		}
		s.db = nil
	}
	if s.tmp != "" {
		_ = os.RemoveAll(s.tmp)
		s.tmp = ""
	}
	return errors.Join(errs...)
}

// watchDatabase restarts PostgreSQL when it dies on its own, as RDS restarts a crashed instance: the new server
// runs crash recovery from the write-ahead log, and the services reconnect by themselves.
func (s *system) watchDatabase() {
	ctx, cancel := context.WithCancel(context.Background())
	s.dbWatch, s.dbWatched = cancel, make(chan struct{})
	go func() {
		defer close(s.dbWatched)
		for {
			select {
			case <-s.db.Exited():
			case <-ctx.Done():
				return
			}
			s.out.Printf("PostgreSQL exited unexpectedly; restarting it with crash recovery")
			for ctx.Err() == nil {
				err := s.db.Recover(ctx)
				if err == nil {
					s.out.Printf("PostgreSQL recovered (pid %d)", s.db.PID())
					break
				}
				s.out.Printf("PostgreSQL did not start again: %v; retrying", err)
				select {
				case <-time.After(time.Second):
				case <-ctx.Done():
				}
			}
		}
	}()
}

// firstWeb is the name of the manifest's first web service (the API), whose probes the edge exposes.
func firstWeb(m *manifest.Manifest) string {
	for _, s := range m.Services {
		if s.Kind == manifest.KindWeb {
			return s.Name
		}
	}
	return ""
}

func printBanner(out *syncWriter, cfg config, s *system) {
	base := "http://" + cfg.addr
	for _, l := range []string{
		"",
		"ECS Reworked is running.",
		"  web UI            " + base + "/",
		"  orders API        " + base + "/api/orders",
		"  OpenAPI document  " + base + "/api/openapi.yaml",
		"  SQS/SNS endpoint  http://" + cfg.awsAddr + "  (aws --endpoint-url http://" + cfg.awsAddr + " sqs list-queues)",
		fmt.Sprintf("  PostgreSQL        %s:%d (TLS only; CA %s)", s.db.Host, s.db.Port, s.db.CAFile),
		"",
		"Place an order:",
		"  curl -s " + base + `/api/orders -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \`,
		`    -d '{"customer_email": "a@example.com", "items": [{"sku": "SKU-1", "quantity": 1, "price_cents": 1250}]}'`,
		"Then follow it: curl -s " + base + "/api/orders/<id>   Notifications are printed here as they are sent.",
		"Its trace (every hop, with durations): curl -s '" + base + "/dev/traces?order_id=<id>'",
		"Ctrl-C stops everything.",
		"",
	} {
		out.Line("devenv", l)
	}
}

// waitHTTP polls url until ok accepts its status code, the process exits, or the timeout passes.
func waitHTTP(ctx context.Context, url string, p *process, timeout time.Duration, ok func(int) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if ok(resp.StatusCode) {
				return nil
			}
			last = fmt.Errorf("GET %s: %s", url, resp.Status)
		} else {
			last = err
		}
		select {
		case <-p.done:
			if err := p.exitErr(); err != nil {
				return err
			}
			return fmt.Errorf("%s exited", p.name)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", timeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freeAddr(ctx context.Context) (string, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomSecret() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
