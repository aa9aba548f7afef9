// Package chaos runs the whole system as `make up` runs it (cmd/devenv: the real binaries as processes, a durable
// PostgreSQL, the embedded SQS/SNS endpoint) and breaks it on a schedule while concurrent clients place orders
// that they retry, as the API asks, with the same Idempotency-Key and body until they get an answer. Then it
// lets the system settle and counts what must never happen:
//
//   - an acknowledged order lost (the client got 201 or 200 and the order is not in the database);
//   - an order placed twice (two orders for one client request);
//   - an effect applied twice or not at all: per SKU, the stock taken must equal the quantities of the fulfilled
//     orders, and every order must have exactly one customer notification;
//   - an event left unpublished in an outbox;
//   - a message in a dead-letter queue (the suite sends no poison message, so every one is a defect);
//   - an order still pending after settling;
//   - a request answered 5xx that no retry recovered within the client's patience.
//
// The faults: SIGKILL of each service (devenv starts a replacement, as ECS does), SIGKILL of PostgreSQL (devenv
// restarts it and it recovers from its write-ahead log), SIGTERM of each service under load, errors and delays
// of Publish, ReceiveMessage and DeleteMessage(Batch) through the endpoint's fault injection, and a stall of
// PostgreSQL and of the endpoint (SIGSTOP, then SIGCONT), which from the services' side is a network partition:
// connections stay open and nothing answers. docs/reliability.md describes the guarantees this checks.
package chaos

import (
	"bufio"
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/pgserver"
)

// Defaults of a run, and the short form that runs in `make test` (docs/reliability.md states them).
const (
	DefaultClients    = 16
	DefaultFaultEvery = 5 * time.Second
	ShortOrders       = 300
	ShortFaultEvery   = 3 * time.Second
)

// Options configure a run.
type Options struct {
	// Bin holds the devenv, api, worker, migrate and localaws binaries.
	Bin string
	// Root is the repository's root: devenv runs there and reads Manifest (relative to it).
	Root     string
	Manifest string
	// Orders is how many orders the clients place; Clients how many place them concurrently.
	Orders  int
	Clients int
	// Duration spreads the orders over about this long, so that faults hit a system under load.
	Duration time.Duration
	// FaultEvery is the pause between two faults; the schedule cycles through every fault kind until the
	// orders are placed, and runs each kind at least once.
	FaultEvery time.Duration
	// SettleTimeout bounds the wait, after the load, for every order to be terminal and every queue empty.
	SettleTimeout time.Duration
	// LogDir receives devenv's output (every process's log) of a run that found a defect.
	LogDir string
	// Out receives progress and the figures.
	Out io.Writer
	// Seed makes the orders' contents and the schedule's order repeatable; 0 picks one.
	Seed uint64
}

func (o Options) withDefaults() Options {
	if o.Manifest == "" {
		o.Manifest = "infra/services.yaml"
	}
	if o.Orders == 0 {
		o.Orders = 300
	}
	if o.Clients == 0 {
		o.Clients = DefaultClients
	}
	if o.Duration == 0 {
		o.Duration = time.Minute
	}
	if o.FaultEvery == 0 {
		o.FaultEvery = DefaultFaultEvery
	}
	if o.SettleTimeout == 0 {
		o.SettleTimeout = 4 * time.Minute
	}
	if o.LogDir == "" {
		o.LogDir = filepath.Join(os.TempDir(), "chaos-logs")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	return o
}

// Report is the outcome of a run: what was done and every defect counted.
type Report struct {
	Seed                 uint64
	Orders, Acknowledged int
	Requests, Retries    int64
	ServerErrors         int64 // 5xx answers and connection failures seen by clients, recovered or not
	Faults               map[string]int
	Restarts             map[string]int
	LoadTime, SettleTime time.Duration
	Fulfilled, Rejected  int
	UnitsTaken           int64
	Notifications        int
	Lost                 int            // acknowledged, then not in the database
	Duplicated           int            // orders beyond the first for one client request
	ReplayMismatch       int            // a retry answered with another order than the first answer
	Conflicts            int            // 409 or other 4xx to a retry of the same key and body
	StockMismatch        map[string]int // per SKU: stock taken minus quantities of fulfilled orders (non-zero only)
	NotificationsMissing int            // terminal orders without a notification
	NotificationsExtra   int            // notifications beyond the first for an order
	Unpublished          int            // outbox rows left
	DeadLettered         int            // messages in dead-letter queues
	NotTerminal          int            // orders still pending after settling
	Unrecovered          int            // orders whose client gave up after 5xx or connection errors
	QueuesNotEmpty       int            // messages left in the services' queues after settling
	LogFile              string         // devenv's output, kept when the run found a defect
}

// Defects is the number of defects counted; 0 is a successful run.
func (r *Report) Defects() int {
	n := r.Lost + r.Duplicated + r.ReplayMismatch + r.Conflicts + r.NotificationsMissing + r.NotificationsExtra +
		r.Unpublished + r.DeadLettered + r.NotTerminal + r.Unrecovered + r.QueuesNotEmpty
	for _, d := range r.StockMismatch {
		n += abs(d)
	}
	return n
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// Print writes the figures.
func (r *Report) Print(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("chaos: seed %d", r.Seed)
	p("  orders placed          %d by clients, %d acknowledged (%d requests, %d retries, %d 5xx or connection errors)",
		r.Orders, r.Acknowledged, r.Requests, r.Retries, r.ServerErrors)
	p("  load                   %s; settled in %s", r.LoadTime.Round(time.Second), r.SettleTime.Round(time.Second))
	p("  outcome                %d fulfilled, %d rejected, %d units taken, %d notifications", r.Fulfilled, r.Rejected, r.UnitsTaken, r.Notifications)
	p("  faults                 %s", formatCounts(r.Faults))
	p("  restarts (devenv)      %s", formatCounts(r.Restarts))
	p("  DEFECTS")
	p("    acknowledged lost     %d", r.Lost)
	p("    duplicated orders     %d", r.Duplicated)
	p("    replay mismatch       %d", r.ReplayMismatch)
	p("    conflicts on retry    %d", r.Conflicts)
	p("    stock double/missed   %d units over %d SKUs %s", r.stockUnits(), len(r.StockMismatch), formatCounts(r.StockMismatch))
	p("    notifications missing %d", r.NotificationsMissing)
	p("    notifications extra   %d", r.NotificationsExtra)
	p("    events unpublished    %d", r.Unpublished)
	p("    dead-lettered         %d", r.DeadLettered)
	p("    queues not drained    %d", r.QueuesNotEmpty)
	p("    not terminal          %d", r.NotTerminal)
	p("    unrecovered 5xx       %d", r.Unrecovered)
	p("  total defects          %d", r.Defects())
	if r.LogFile != "" {
		p("  logs of this run       %s", r.LogFile)
	}
}

func (r *Report) stockUnits() int {
	n := 0
	for _, d := range r.StockMismatch {
		n += abs(d)
	}
	return n
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// Run runs the suite once. The error is about the harness (the system did not start, devenv gave up on a
// service); defects are in the Report.
func Run(ctx context.Context, opts Options) (rep *Report, err error) {
	opts = opts.withDefaults()
	rep = &Report{Seed: opts.Seed, Orders: opts.Orders, Faults: map[string]int{}, Restarts: map[string]int{},
		StockMismatch: map[string]int{}}
	var m *manifest.Manifest
	m, err = manifest.Load(filepath.Join(opts.Root, opts.Manifest))
	if err != nil {
		return rep, err
	}
	if err := os.MkdirAll(opts.LogDir, 0o755); err != nil { //nolint:gosec // logs of a local test run
		return rep, fmt.Errorf("create log directory: %w", err)
	}
	var sys *system
	sys, err = startSystem(ctx, opts)
	if err != nil {
		return rep, err
	}
	defer func() {
		stopErr := sys.stop()
		rep.Restarts = sys.restarts()
		if rep.Defects() > 0 || err != nil || stopErr != nil {
			rep.LogFile = sys.logPath
		} else {
			_ = os.Remove(sys.logPath)
		}
		if err == nil && stopErr != nil {
			err = fmt.Errorf("devenv did not stop cleanly: %w", stopErr)
		}
	}()
	fmt.Fprintf(opts.Out, "chaos: system up (logs %s); placing %d orders from %d clients over about %s\n",
		sys.logPath, opts.Orders, opts.Clients, opts.Duration)

	// A pool, not one connection: PostgreSQL is killed during the run, and the pool connects again.
	db, err := pgxpool.New(ctx, sys.dsn)
	if err != nil {
		return rep, fmt.Errorf("connect to the database: %w", err)
	}
	defer db.Close()
	initial, err := stock(ctx, db)
	if err != nil {
		return rep, err
	}

	// Load and faults together; the schedule stops once the load is done and every kind ran once.
	loadCtx, cancelLoad := context.WithCancel(ctx)
	defer cancelLoad()
	ld := newLoad(opts)
	loadDone := make(chan struct{})
	started := time.Now()
	go func() { defer close(loadDone); ld.run(loadCtx, sys.url) }()
	sched := &schedule{sys: sys, every: opts.FaultEvery, out: opts.Out, counts: rep.Faults, rng: rand.New(rand.NewPCG(opts.Seed, 1))}
	schedErr := sched.run(ctx, loadDone)
	<-loadDone
	rep.LoadTime = time.Since(started)
	sys.healAll()
	if schedErr != nil {
		return rep, schedErr
	}
	if err := sys.alive(); err != nil {
		return rep, err
	}
	ld.fill(rep)
	fmt.Fprintf(opts.Out, "chaos: load done in %s (%d acknowledged); settling\n", rep.LoadTime.Round(time.Second), rep.Acknowledged)

	// Settle: every order terminal, every outbox and queue empty; then count.
	q := newQueues(sys.awsAddr, m)
	settleStart := time.Now()
	deadline := settleStart.Add(opts.SettleTimeout)
	for {
		pending, unpublished, inQueues, err := progress(ctx, db, q)
		if err == nil && pending == 0 && unpublished == 0 && inQueues == 0 {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(opts.Out, "chaos: not settled after %s: %d pending, %d unpublished, %d in queues (%v)\n",
				opts.SettleTimeout, pending, unpublished, inQueues, err)
			break
		}
		if err := sys.alive(); err != nil {
			return rep, err
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	rep.SettleTime = time.Since(settleStart)
	if err := count(ctx, db, q, ld, initial, rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// system is devenv running the whole system.
type system struct {
	cmd      *exec.Cmd
	url      string
	awsAddr  string
	dsn      string
	logPath  string
	log      *os.File
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once

	mu     sync.Mutex
	output bytes.Buffer
	// stopped lists the process groups held with SIGSTOP, to be continued whatever happens.
	stopped map[int]bool
}

func freeAddr(ctx context.Context) (string, error) {
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func startSystem(ctx context.Context, opts Options) (*system, error) {
	addr, err := freeAddr(ctx)
	if err != nil {
		return nil, err
	}
	awsAddr, err := freeAddr(ctx)
	if err != nil {
		return nil, err
	}
	dbAddr, err := freeAddr(ctx)
	if err != nil {
		return nil, err
	}
	_, dbPort, _ := net.SplitHostPort(dbAddr)
	pw := make([]byte, 16)
	_, _ = cryptorand.Read(pw)
	password := hex.EncodeToString(pw)
	logf, err := os.CreateTemp(opts.LogDir, "devenv-*.log")
	if err != nil {
		return nil, fmt.Errorf("create log file: %w", err)
	}
	s := &system{url: "http://" + addr, awsAddr: awsAddr, logPath: logf.Name(), log: logf,
		exited: make(chan struct{}), stopped: map[int]bool{}}
	s.cmd = exec.Command(filepath.Join(opts.Bin, "devenv"), "-addr", addr, "-aws-addr", awsAddr, //nolint:noctx // stopped with SIGINT, as a developer stops it
		"-manifest", opts.Manifest, "-bin", opts.Bin)
	s.cmd.Dir = opts.Root
	s.cmd.Env = append(os.Environ(), "DB_PORT="+dbPort, "DB_SUPERUSER_PASSWORD="+password)
	pr, pw2 := io.Pipe()
	s.cmd.Stdout, s.cmd.Stderr = pw2, pw2
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start devenv: %w", err)
	}
	go func() { s.waitErr = s.cmd.Wait(); _ = pw2.Close(); close(s.exited) }()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		var once sync.Once
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.output.WriteString(line + "\n")
			_, _ = s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if strings.Contains(line, "ready in") {
				once.Do(func() { close(ready) })
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case <-ready:
	case <-s.exited:
		return nil, fmt.Errorf("devenv exited before it was ready (%w); its output is in %s", s.waitErr, s.logPath)
	case <-time.After(3 * time.Minute):
		_ = s.stop()
		return nil, fmt.Errorf("devenv was not ready within 3 minutes; its output is in %s", s.logPath)
	case <-ctx.Done():
		_ = s.stop()
		return nil, ctx.Err()
	}
	ca := regexp.MustCompile(`PostgreSQL \S+ \(TLS only, CA (\S+), pid`).FindStringSubmatch(s.text())
	if ca == nil {
		_ = s.stop()
		return nil, errors.New("devenv did not print the PostgreSQL CA file")
	}
	s.dsn = fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%s/ecsreworked?sslmode=verify-full&sslrootcert=%s", password, dbPort, ca[1])
	return s, nil
}

func (s *system) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.output.String()
}

var pidLine = regexp.MustCompile(`(?m)^devenv\s*\| (\S+) (?:started \(|restarted \(|recovered \(|\S+ \(TLS only.*)pid (\d+)`)

// pid is the process id (and process group) devenv last printed for name: api, worker, localaws, PostgreSQL.
func (s *system) pid(name string) (int, error) {
	all := pidLine.FindAllStringSubmatch(s.text(), -1)
	for i := len(all) - 1; i >= 0; i-- {
		if all[i][1] == name {
			return strconv.Atoi(all[i][2])
		}
	}
	return 0, fmt.Errorf("devenv printed no pid for %s", name)
}

// restarts counts the replacements devenv printed, per service, and PostgreSQL's recoveries.
func (s *system) restarts() map[string]int {
	out := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^devenv\s*\| (\S+) (?:restarted|recovered) \(`).FindAllStringSubmatch(s.text(), -1) {
		out[m[1]]++
	}
	return out
}

// alive is an error when devenv has exited (it gives up on a service that keeps crashing).
func (s *system) alive() error {
	select {
	case <-s.exited:
		return fmt.Errorf("devenv exited during the run (%w); its output is in %s", s.waitErr, s.logPath)
	default:
		return nil
	}
}

// signal sends sig to the process group pgid and to every child of its leader: PostgreSQL's children call
// setsid, so killing or stopping the postmaster's group alone would leave its backends serving.
func (s *system) signal(pgid int, sig syscall.Signal) error {
	s.mu.Lock()
	switch sig {
	case syscall.SIGSTOP:
		s.stopped[pgid] = true
	case syscall.SIGCONT:
		delete(s.stopped, pgid)
	}
	s.mu.Unlock()
	children := pgserver.Children(pgid)
	if err := syscall.Kill(-pgid, sig); err != nil {
		return fmt.Errorf("signal %v to process group %d: %w", sig, pgid, err)
	}
	for _, c := range children {
		_ = syscall.Kill(c, sig)
	}
	return nil
}

// healAll continues every stalled process and clears the endpoint's faults.
func (s *system) healAll() {
	s.mu.Lock()
	var groups []int
	for g := range s.stopped {
		groups = append(groups, g)
	}
	s.mu.Unlock()
	for _, g := range groups {
		_ = s.signal(g, syscall.SIGCONT)
	}
	// Bounded, and apart from any run's context: healing happens on the way out too.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, "http://"+s.awsAddr+"/_localaws/faults", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		_ = resp.Body.Close()
	}
}

func (s *system) stop() error {
	s.stopOnce.Do(func() {
		s.healAll()
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(2 * time.Minute):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		s.mu.Lock()
		_ = s.log.Close()
		s.mu.Unlock()
	})
	var ee *exec.ExitError
	if errors.As(s.waitErr, &ee) {
		return fmt.Errorf("devenv: %w", s.waitErr)
	}
	return nil
}

// stock is the on-hand quantity of every SKU.
func stock(ctx context.Context, db *pgxpool.Pool) (map[string]int64, error) {
	rows, err := db.Query(ctx, "SELECT sku, on_hand FROM fulfillment.inventory")
	if err != nil {
		return nil, fmt.Errorf("read stock: %w", err)
	}
	out := map[string]int64{}
	for rows.Next() {
		var sku string
		var n int64
		if err := rows.Scan(&sku, &n); err != nil {
			return nil, err
		}
		out[sku] = n
	}
	return out, rows.Err()
}

// progress is what remains to settle: pending orders, outbox rows, and messages in the services' queues.
func progress(ctx context.Context, db *pgxpool.Pool, q *queues) (pending, unpublished, inQueues int, err error) {
	err = db.QueryRow(ctx, `SELECT (SELECT count(*) FROM orders.orders WHERE status = 'pending'),
		(SELECT count(*) FROM orders.outbox) + (SELECT count(*) FROM fulfillment.outbox)`).Scan(&pending, &unpublished)
	if err != nil {
		return -1, -1, -1, fmt.Errorf("read progress: %w", err)
	}
	inQueues, err = q.count(ctx, q.main)
	return pending, unpublished, inQueues, err
}

// queues reads the depth of the services' queues and dead-letter queues.
type queues struct {
	client    *sqs.Client
	base      string
	main, dlq []string
}

func newQueues(awsAddr string, m *manifest.Manifest) *queues {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String("http://" + awsAddr)}
	q := &queues{client: sqs.NewFromConfig(cfg), base: "http://" + awsAddr + "/000000000000/"}
	for _, mq := range m.Queues {
		q.main = append(q.main, mq.Name)
		q.dlq = append(q.dlq, mq.DeadLetterQueueName())
	}
	return q
}

// count is the number of messages in the named queues, visible, in flight or delayed.
func (q *queues) count(ctx context.Context, names []string) (int, error) {
	total := 0
	for _, name := range names {
		out, err := q.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.base + name),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
		if err != nil {
			return -1, fmt.Errorf("depth of %s: %w", name, err)
		}
		for _, v := range out.Attributes {
			n, _ := strconv.Atoi(v)
			total += n
		}
	}
	return total, nil
}

// count counts the defects once the system has settled.
func count(ctx context.Context, db *pgxpool.Pool, q *queues, ld *load, initial map[string]int64, rep *Report) error {
	// Every order in the database, by the client request (customer email) it came from.
	rows, err := db.Query(ctx, `SELECT id::text, customer_email, status FROM orders.orders WHERE customer_email LIKE 'chaos-%'`)
	if err != nil {
		return fmt.Errorf("read orders: %w", err)
	}
	byID := map[string]string{}
	perRequest := map[string]int{}
	for rows.Next() {
		var id, email, status string
		if err := rows.Scan(&id, &email, &status); err != nil {
			return err
		}
		byID[id] = status
		perRequest[email]++
		switch status {
		case "fulfilled":
			rep.Fulfilled++
		case "rejected":
			rep.Rejected++
		default:
			rep.NotTerminal++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, n := range perRequest {
		rep.Duplicated += n - 1
	}
	for _, r := range ld.results {
		if r.id != "" {
			if _, ok := byID[r.id]; !ok {
				rep.Lost++
			}
		}
	}

	// Stock: what was taken per SKU must be what the fulfilled orders hold.
	final, err := stock(ctx, db)
	if err != nil {
		return err
	}
	rows, err = db.Query(ctx, `SELECT i.sku, sum(i.quantity) FROM orders.order_items i JOIN orders.orders o ON o.id = i.order_id
		WHERE o.status = 'fulfilled' GROUP BY i.sku`)
	if err != nil {
		return fmt.Errorf("read fulfilled quantities: %w", err)
	}
	fulfilled := map[string]int64{}
	for rows.Next() {
		var sku string
		var n int64
		if err := rows.Scan(&sku, &n); err != nil {
			return err
		}
		fulfilled[sku] = n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for sku, before := range initial {
		taken := before - final[sku]
		rep.UnitsTaken += taken
		if d := taken - fulfilled[sku]; d != 0 {
			rep.StockMismatch[sku] = int(d)
		}
	}

	// Exactly one notification per terminal order.
	err = db.QueryRow(ctx, `SELECT coalesce(sum(CASE WHEN n = 0 THEN 1 ELSE 0 END), 0), coalesce(sum(greatest(n - 1, 0)), 0),
		coalesce(sum(n), 0) FROM (SELECT o.id, count(n.event_id) AS n FROM orders.orders o
		LEFT JOIN orders.notifications n ON n.order_id = o.id WHERE o.status <> 'pending' GROUP BY o.id) t`).
		Scan(&rep.NotificationsMissing, &rep.NotificationsExtra, &rep.Notifications)
	if err != nil {
		return fmt.Errorf("read notifications: %w", err)
	}
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM orders.outbox) + (SELECT count(*) FROM fulfillment.outbox)`).
		Scan(&rep.Unpublished); err != nil {
		return fmt.Errorf("read outboxes: %w", err)
	}
	if rep.DeadLettered, err = q.count(ctx, q.dlq); err != nil {
		return err
	}
	if rep.QueuesNotEmpty, err = q.count(ctx, q.main); err != nil {
		return err
	}
	return nil
}

// load is the clients placing orders.
type load struct {
	opts     Options
	results  []result
	next     atomic.Int64
	requests atomic.Int64
	retries  atomic.Int64
	errors5  atomic.Int64
	client   *http.Client
}

type result struct {
	id          string
	replayOther bool // a retry answered with another order
	conflict    bool // 409 or another 4xx to a retry
	gaveUp      bool // the client's patience ran out on 5xx or connection errors
}

func newLoad(opts Options) *load {
	return &load{opts: opts, results: make([]result, opts.Orders),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: opts.Clients}}}
}

// orderBody is order i's request: one to three lines of SKU-1 to SKU-8 (in stock), and every 20th order a line
// of SKU-9 (out of stock: rejected). The email names the request, so that two orders for one request show.
func orderBody(seed uint64, i int) string {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	var items []string
	used := map[int]bool{}
	for range 1 + rng.IntN(3) {
		sku := 1 + rng.IntN(8)
		if used[sku] {
			continue
		}
		used[sku] = true
		items = append(items, fmt.Sprintf(`{"sku":"SKU-%d","quantity":%d,"price_cents":%d}`, sku, 1+rng.IntN(3), 100+rng.IntN(900)))
	}
	if i%20 == 19 {
		items = append(items, `{"sku":"SKU-9","quantity":1,"price_cents":100}`)
	}
	return fmt.Sprintf(`{"customer_email":"chaos-%d@example.com","items":[%s]}`, i, strings.Join(items, ","))
}

// run places every order, paced to spread them over the run's duration.
func (l *load) run(ctx context.Context, base string) {
	interval := l.opts.Duration / time.Duration(l.opts.Orders)
	tokens := make(chan struct{})
	go func() {
		t := time.NewTicker(max(interval, time.Microsecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				close(tokens)
				return
			case <-t.C:
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
					close(tokens)
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for range l.opts.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(l.next.Add(1)) - 1
				if i >= l.opts.Orders {
					return
				}
				if _, ok := <-tokens; !ok {
					return
				}
				l.results[i] = l.place(ctx, base, i)
			}
		}()
	}
	wg.Wait()
}

// Patience is how long a client retries one order through 5xx answers and connection errors.
const Patience = 3 * time.Minute

// place places order i, retrying with the same key and body until it is acknowledged or patience runs out.
func (l *load) place(ctx context.Context, base string, i int) result {
	body := orderBody(l.opts.Seed, i)
	key := fmt.Sprintf("chaos-%d-%d", l.opts.Seed, i)
	var r result
	deadline := time.Now().Add(Patience)
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			l.retries.Add(1)
		}
		l.requests.Add(1)
		status, id, err := l.post(ctx, base, key, body)
		switch {
		case err == nil && (status == http.StatusCreated || status == http.StatusOK):
			if r.id != "" && r.id != id {
				r.replayOther = true
			}
			r.id = id
			return r
		case err == nil && status >= 400 && status < 500:
			r.conflict = true
			return r
		}
		l.errors5.Add(1)
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.gaveUp = true
			return r
		}
		time.Sleep(backoff + time.Duration(rand.Int64N(int64(backoff))))
		backoff = min(backoff*2, 2*time.Second)
	}
}

func (l *load) post(ctx context.Context, base, key, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/orders", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	var o struct {
		ID string `json:"id"`
	}
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &o); err != nil || o.ID == "" {
			return 0, "", fmt.Errorf("answer %d without an order: %s", resp.StatusCode, b)
		}
	}
	return resp.StatusCode, o.ID, nil
}

// fill copies the clients' figures into the report.
func (l *load) fill(rep *Report) {
	rep.Requests, rep.Retries, rep.ServerErrors = l.requests.Load(), l.retries.Load(), l.errors5.Load()
	for _, r := range l.results {
		if r.id != "" {
			rep.Acknowledged++
		}
		if r.replayOther {
			rep.ReplayMismatch++
		}
		if r.conflict {
			rep.Conflicts++
		}
		if r.gaveUp {
			rep.Unrecovered++
		}
	}
}

// schedule injects faults one after another.
type schedule struct {
	sys    *system
	every  time.Duration
	out    io.Writer
	counts map[string]int
	rng    *rand.Rand
}

type fault struct {
	name   string
	inject func(ctx context.Context, s *system) error
}

func killFault(name, proc string, sig syscall.Signal) fault {
	return fault{name, func(_ context.Context, s *system) error {
		pid, err := s.pid(proc)
		if err != nil {
			return err
		}
		return s.signal(pid, sig)
	}}
}

// stallFault holds a process group with SIGSTOP for d: its peers' connections stay open and nothing answers,
// which is what a network partition looks like from their side.
func stallFault(name, proc string, d time.Duration) fault {
	return fault{name, func(ctx context.Context, s *system) error {
		pid, err := s.pid(proc)
		if err != nil {
			return err
		}
		if err := s.signal(pid, syscall.SIGSTOP); err != nil {
			return err
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		return s.signal(pid, syscall.SIGCONT)
	}}
}

// endpointFault injects a fault into the SQS/SNS endpoint (internal/localaws, POST /_localaws/faults).
func endpointFault(name, spec string) fault {
	return fault{name, func(ctx context.Context, s *system) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.awsAddr+"/_localaws/faults", strings.NewReader(spec))
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("inject %s: %w", name, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("inject %s: %s %s", name, resp.Status, b)
		}
		return nil
	}}
}

// FaultKinds are the names of every fault the schedule injects.
func FaultKinds() []string {
	var names []string
	for _, f := range faults() {
		names = append(names, f.name)
	}
	return names
}

// faults are every kind the schedule injects.
func faults() []fault {
	const serverError = `"code":"InternalError","status":500,"server":true`
	return []fault{
		killFault("kill-api", "api", syscall.SIGKILL),
		killFault("kill-worker", "worker", syscall.SIGKILL),
		killFault("kill-postgres", "PostgreSQL", syscall.SIGKILL),
		killFault("term-api", "api", syscall.SIGTERM),
		killFault("term-worker", "worker", syscall.SIGTERM),
		endpointFault("sns-publish-errors", `{"action":"Publish",`+serverError+`,"for":"3s"}`),
		endpointFault("sqs-receive-errors", `{"action":"ReceiveMessage",`+serverError+`,"for":"3s"}`),
		endpointFault("sqs-delete-errors", `{"action":"DeleteMessageBatch",`+serverError+`,"for":"3s"}`),
		endpointFault("sqs-delete-one-errors", `{"action":"DeleteMessage",`+serverError+`,"for":"3s"}`),
		endpointFault("sqs-sns-delays", `{"action":"*","delay":"1500ms","for":"4s"}`),
		stallFault("partition-postgres", "PostgreSQL", 4*time.Second),
		stallFault("partition-endpoint", "localaws", 4*time.Second),
	}
}

// run injects faults in a shuffled order, one every s.every, cycling until done is closed and every kind
// ran at least once.
func (s *schedule) run(ctx context.Context, done <-chan struct{}) error {
	all := faults()
	for {
		order := s.rng.Perm(len(all))
		for _, i := range order {
			select {
			case <-time.After(s.every):
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := s.sys.alive(); err != nil {
				return err
			}
			f := all[i]
			fmt.Fprintf(s.out, "chaos: %s %s\n", time.Now().Format("15:04:05"), f.name)
			if err := f.inject(ctx, s.sys); err != nil {
				return fmt.Errorf("fault %s: %w", f.name, err)
			}
			s.counts[f.name]++
		}
		// Every kind has run once the first shuffled round is over: stop when the load is done.
		select {
		case <-done:
			return nil
		default:
		}
	}
}
