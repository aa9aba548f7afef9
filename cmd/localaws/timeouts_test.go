package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// startServe runs the endpoint with the given timeouts until the test ends
// and returns its address (host:port).
func startServe(t *testing.T, to timeouts) string {
	t.Helper()
	cfg := config{addr: "127.0.0.1:0", region: "us-east-1", account: "000000000000", logLevel: slog.LevelWarn, timeouts: to}
	url := startRun(t, func(ctx context.Context, stdout io.Writer) error { return serve(ctx, cfg, stdout, io.Discard) })
	return strings.TrimPrefix(url, "http://")
}

// hangLimit is how long the tests below wait for the server before calling
// it a hang; it is far above the short timeouts they configure.
const hangLimit = 15 * time.Second

// TestSlowClientsGetAnAnswer sends requests that never complete, complete too
// slowly or are cut short, and requires an answer or a closed connection
// within the server's timeouts rather than a connection held open forever.
func TestSlowClientsGetAnAnswer(t *testing.T) {
	t.Parallel()
	to := timeouts{header: time.Second, request: 2 * time.Second, write: 30 * time.Second, idle: 2 * time.Second}
	addr := startServe(t, to)
	const bodyLen = 100
	header := fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\n"+
		"X-Amz-Target: AmazonSQS.ListQueues\r\nContent-Length: %d\r\n\r\n", addr, bodyLen)
	tests := []struct {
		name string
		// send writes to the connection; sent counts the body bytes written.
		send func(c net.Conn, sent *atomic.Int64)
		// wantStatus is the answer expected; 0 means the server closes the
		// connection without one.
		wantStatus int
	}{
		{"body stops mid-way", func(c net.Conn, sent *atomic.Int64) {
			_, _ = io.WriteString(c, header+`{"QueueNamePrefix":`)
		}, http.StatusRequestTimeout},
		{"body trickles in", func(c net.Conn, sent *atomic.Int64) {
			// One byte every 200 ms: the whole body would take 20 s.
			_, _ = io.WriteString(c, header)
			go func() {
				for range bodyLen {
					if _, err := c.Write([]byte{' '}); err != nil {
						return
					}
					sent.Add(1)
					time.Sleep(200 * time.Millisecond)
				}
			}()
		}, http.StatusRequestTimeout},
		{"body cut short", func(c net.Conn, sent *atomic.Int64) {
			_, _ = io.WriteString(c, header+`{"QueueNamePrefix":`)
			_ = c.(*net.TCPConn).CloseWrite()
		}, http.StatusBadRequest},
		{"header stops mid-way", func(c net.Conn, sent *atomic.Int64) {
			_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: "+addr+"\r\n")
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var sent atomic.Int64
			tt.send(c, &sent)
			_ = c.SetReadDeadline(time.Now().Add(hangLimit))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				defer resp.Body.Close()
			}
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				t.Fatalf("no answer and no close within %s (server timeouts %+v)", hangLimit, to)
			case tt.wantStatus == 0:
				if err == nil {
					t.Errorf("got %s; want the connection closed without an answer", resp.Status)
				}
			case err != nil:
				t.Fatalf("read answer: %v; want %d", err, tt.wantStatus)
			default:
				b, _ := io.ReadAll(resp.Body)
				code := map[int]string{http.StatusRequestTimeout: "RequestTimeout", http.StatusBadRequest: "IncompleteBody"}[tt.wantStatus]
				if resp.StatusCode != tt.wantStatus || !strings.Contains(string(b), code) {
					t.Errorf("answer = %s %s; want %d %s", resp.Status, b, tt.wantStatus, code)
				}
				if n := sent.Load(); n >= bodyLen {
					t.Errorf("answered after the whole body (%d bytes) arrived; want the request timeout to end it", n)
				}
			}
		})
	}
	t.Run("idle connection", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "GET /_localaws/health HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(hangLimit))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		// Nothing more is sent: the server must close the connection.
		_, err = br.ReadByte()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("idle keep-alive connection still open after %s (idle timeout %s)", hangLimit, to.idle)
		}
		if err == nil {
			t.Errorf("server sent data on an idle connection; want it closed")
		}
	})
}

// TestLongPollOutlivesRequestTimeout checks that the request timeout, which
// bounds how long a body may take, does not cut a long poll short: with the
// command's own timeouts, a ReceiveMessage waiting the longest 20 seconds
// gets a message sent after the request timeout has passed.
func TestLongPollOutlivesRequestTimeout(t *testing.T) {
	t.Parallel()
	to := defaultTimeouts
	sendAfter := to.request + time.Second
	if sendAfter >= maxLongPoll {
		t.Fatalf("request timeout %s leaves no room in a %s long poll to test", to.request, maxLongPoll)
	}
	addr := startServe(t, to)
	c := sqs.New(sqs.Options{BaseEndpoint: aws.String("http://" + addr), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, nil
		})})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("late")})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		bodies []string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: int32(maxLongPoll / time.Second)})
		var r result
		r.err = err
		if err == nil {
			for _, m := range out.Messages {
				r.bodies = append(r.bodies, aws.ToString(m.Body))
			}
		}
		got <- r
	}()
	time.Sleep(sendAfter)
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("after the request timeout")}); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil || len(r.bodies) != 1 {
		t.Errorf("long poll = %q, %v; want the message sent %s after it started", r.bodies, r.err, sendAfter)
	}
}

func TestTimeoutsValidate(t *testing.T) {
	if err := defaultTimeouts.validate(); err != nil {
		t.Errorf("defaultTimeouts.validate() = %v; want nil", err)
	}
	short := defaultTimeouts
	short.write = short.request + maxLongPoll
	if err := short.validate(); err == nil {
		t.Errorf("validate() with a write timeout of %s = nil; want an error (no room for a %s long poll after a %s request)", short.write, maxLongPoll, short.request)
	}
}

// TestTimeoutsDocumented keeps the timeouts stated in docs/localaws.md equal
// to the command's.
func TestTimeoutsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/localaws.md")
	if err != nil {
		t.Fatal(err)
	}
	secs := func(d time.Duration) int { return int(d / time.Second) }
	for _, want := range []string{
		fmt.Sprintf("header within %d s", secs(defaultTimeouts.header)),
		fmt.Sprintf("whole request within %d s", secs(defaultTimeouts.request)),
		fmt.Sprintf("answered within %d s", secs(defaultTimeouts.write)),
		fmt.Sprintf("after %d s", secs(defaultTimeouts.idle)),
		fmt.Sprintf("%d-second budget", secs(shutdownBudget)),
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("docs/localaws.md does not say %q", want)
		}
	}
}
