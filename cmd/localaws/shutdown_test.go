package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// runMainEnv makes the test binary run the command's main instead of the
// tests, so that a test can send signals to a real localaws process.
const runMainEnv = "LOCALAWS_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startMain runs main in a child process with args and returns it, its URL
// and a channel of the lines it writes to stderr.
func startMain(t *testing.T, args ...string) (*exec.Cmd, string, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatalf("localaws printed nothing on stdout")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	line := sc.Text()
	return cmd, line[strings.LastIndex(line, " ")+1:], lines
}

// TestSIGTERMDuringLongPolls stops the command while receivers long-poll
// with the longest wait, a keep-alive connection is idle and a connection has
// been accepted but carries no request yet (clients open such spare
// connections). The command must answer the long polls at once and exit 0:
// before, the spare connection alone made it miss its shutdown budget.
func TestSIGTERMDuringLongPolls(t *testing.T) {
	cmd, url, stderr := startMain(t, "-addr", "127.0.0.1:0", "-log-level", "debug")
	c := sqs.New(sqs.Options{BaseEndpoint: aws.String(url), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, nil
		})})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("polled")})
	if err != nil {
		t.Fatal(err)
	}
	const polls = 8
	type result struct {
		n   int
		err error
	}
	results := make(chan result, polls)
	var wg sync.WaitGroup
	for range polls {
		wg.Go(func() {
			out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 20, MaxNumberOfMessages: 10})
			if err != nil {
				results <- result{err: err}
				return
			}
			results <- result{n: len(out.Messages)}
		})
	}
	// Every long poll logs when it starts waiting.
	for waiting := 0; waiting < polls; {
		line, ok := <-stderr
		if !ok {
			t.Fatalf("localaws exited before %d long polls waited", polls)
		}
		if strings.Contains(line, "long poll waiting") {
			waiting++
		}
	}
	spare, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	// A request on a later connection is answered only after the server
	// accepted the spare one, which it accepts first.
	probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := probe.Get(url + "/_localaws/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var log []string
	select {
	case err := <-exited:
		for line := range stderr {
			log = append(log, line)
		}
		if err != nil {
			t.Fatalf("localaws exited with %v after SIGTERM; want 0; stderr:\n%s", err, strings.Join(log, "\n"))
		}
	case <-ctx.Done():
		t.Fatalf("localaws did not exit after SIGTERM")
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r.err != nil || r.n != 0 {
			t.Errorf("long poll during shutdown = %d messages, %v; want an empty answer", r.n, r.err)
		}
	}
	var ne net.Error
	if _, err := spare.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("spare connection read = %v; want it closed by the server", err)
	}
}
