package localaws_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws"
	"github.com/ecs-reworked/ecs-reworked/internal/localaws/localawstest"
)

// target is one implementation the conformance suite runs against.
type target struct {
	name string
	url  string
	// sns says the target serves SNS too.
	sns bool
	// referee marks local-aws-sqs; cases that expect a documented,
	// deliberate difference check per target (see
	// docs/adr/*-localaws-referee-differences.md).
	referee bool
	// srv and clock are set for the in-process target only.
	srv   *localaws.Server
	clock *fakeClock
	// faults injects a fault; nil when the target cannot.
	faults func(t *testing.T, f string)
}

// fakeClock is real time plus an offset a test can move forward.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// startProcess starts a server process that prints its URL as the last word
// of its first line, and stops it with SIGTERM at cleanup, requiring a clean
// exit.
func startProcess(t testing.TB, name string, cmd *exec.Cmd) string {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%s: stdout: %v", name, err)
	}
	var stderr strings.Builder
	cmd.Stderr = &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() {
		}
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(30 * time.Second):
	}
	fields := strings.Fields(line)
	if len(fields) == 0 || !strings.HasPrefix(fields[len(fields)-1], "http://") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("%s did not print its address (first line %q); stderr:\n%s", name, line, stderr.String())
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s did not stop cleanly on SIGTERM: %v; stderr:\n%s", name, err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("%s did not stop within 10s of SIGTERM", name)
		}
	})
	return fields[len(fields)-1]
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// buildCommand builds cmd/localaws into a temporary directory.
func buildCommand(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "localaws")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/localaws")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build cmd/localaws: %v\n%s", err, out)
	}
	return bin
}

func inProcessTarget(t testing.TB) target {
	clock := &fakeClock{}
	url, srv := localawstest.New(t, localaws.WithClock(clock.now))
	return target{name: "in-process", url: url, sns: true, srv: srv, clock: clock,
		faults: func(t *testing.T, f string) {
			fault, err := localaws.ParseFault([]byte(f))
			if err != nil {
				t.Fatal(err)
			}
			srv.InjectFault(fault)
		}}
}

func commandTarget(t testing.TB, bin string, args ...string) target {
	url := startProcess(t, "cmd/localaws", exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-log-level", "warn"}, args...)...))
	return target{name: "command", url: url, sns: true, faults: func(t *testing.T, f string) {
		resp, err := http.Post(url+"/_localaws/faults", "application/json", strings.NewReader(f))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST /_localaws/faults = %s; want 204", resp.Status)
		}
	}}
}

// refereeInstall is the command that installs the referee.
const refereeInstall = "npm ci --prefix test/referee"

func refereeTarget(t testing.TB) target {
	dir := filepath.Join(repoRoot(t), "test", "referee")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "local-aws-sqs")); err != nil {
		t.Fatalf("the referee local-aws-sqs is not installed (%v); run %q from the repository root", err, refereeInstall)
	}
	cmd := exec.Command("node", "server.mjs")
	cmd.Dir = dir
	url := startProcess(t, "local-aws-sqs", cmd)
	return target{name: "referee", url: url, referee: true}
}

var testCredentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
})

// connectionRetryer retries only connection errors (as the SDK's default
// retryer does), so that every error a server answers reaches the case.
func connectionRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.RateLimiter = ratelimit.None
	})
}

// testHTTPClient keeps the SDK from closing connections under responses
// (see localawstest.HTTPClient).
var testHTTPClient = localawstest.HTTPClient()

func sqsClient(url string) *sqs.Client {
	return sqs.New(sqs.Options{BaseEndpoint: aws.String(url), Region: "us-east-1", Credentials: testCredentials, Retryer: connectionRetryer(), HTTPClient: testHTTPClient})
}

func snsClient(url string) *sns.Client {
	return sns.New(sns.Options{BaseEndpoint: aws.String(url), Region: "us-east-1", Credentials: testCredentials, Retryer: connectionRetryer(), HTTPClient: testHTTPClient})
}

// sqsCase is one conformance case for SQS.
type sqsCase struct {
	name string
	// only restricts the case to targets that support what it needs.
	only func(tg target) bool
	run  func(t *testing.T, tg target, c *sqs.Client)
}

var caseSeq atomic.Int64

// uniqueName returns a queue or topic name unique in this test run.
func uniqueName(t *testing.T, suffix string) string {
	n := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '-'
	}, t.Name())
	if len(n) > 50 {
		n = n[len(n)-50:]
	}
	return fmt.Sprintf("%s-%d%s", strings.Trim(n, "-_"), caseSeq.Add(1), suffix)
}

// TestConformance runs every case against the in-process server, the
// cmd/localaws command and (SQS cases) the local-aws-sqs referee.
func TestConformance(t *testing.T) {
	bin := buildCommand(t)
	targets := []target{inProcessTarget(t), commandTarget(t, bin), refereeTarget(t)}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			c := sqsClient(tg.url)
			for _, cs := range sqsCases {
				if cs.only != nil && !cs.only(tg) {
					continue
				}
				t.Run("sqs/"+cs.name, func(t *testing.T) {
					t.Parallel()
					runCase(t, func() { cs.run(t, tg, c) })
				})
			}
			if !tg.sns {
				return
			}
			sc := snsClient(tg.url)
			for _, cs := range snsCases {
				t.Run("sns/"+cs.name, func(t *testing.T) {
					t.Parallel()
					runCase(t, func() { cs.run(t, tg, sc, c) })
				})
			}
		})
	}
}

// apiCode returns the error code of an AWS API error, or "" .
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// mustFailure is the panic value of must, turned into a test failure by
// runCase.
type mustFailure struct {
	err   error
	where string
}

// must returns v, or ends the running case when err is set. Cases run through
// runCase, which reports the failure.
func must[T any](v T, err error) T {
	if err != nil {
		_, file, line, _ := runtime.Caller(1)
		panic(mustFailure{err, fmt.Sprintf("%s:%d", filepath.Base(file), line)})
	}
	return v
}

// runCase runs fn, reporting a failed must as a fatal test failure.
func runCase(t *testing.T, fn func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			if mf, ok := r.(mustFailure); ok {
				t.Fatalf("%s: unexpected error: %v", mf.where, mf.err)
			}
			panic(r)
		}
	}()
	fn()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
