// Package localaws is an embedded SQS and SNS endpoint for local runs and
// tests. A Server is an http.Handler that speaks SQS in the AWS JSON 1.0 and
// query protocols and SNS in the query protocol, on one port, so the
// unmodified AWS SDKs work against it with only their endpoint changed.
//
// A Server keeps everything in memory. Any number of servers can run in one
// process; they share nothing.
package localaws

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	sqsXMLNS = "http://queue.amazonaws.com/doc/2012-11-05/"
	snsXMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"
	// maxRequestBody bounds a request body; the largest legal request (a
	// batch of ten messages of 1 MiB in total, query-encoded) fits.
	maxRequestBody = 8 << 20
)

// Server is an in-memory SQS and SNS endpoint. Create it with New; it is safe
// for concurrent use.
type Server struct {
	region  string
	account string
	log     *slog.Logger
	now     func() time.Time
	client  *http.Client

	mu        sync.RWMutex
	queues    map[string]*queue
	serial    uint32
	topics    map[string]*topic
	subs      map[string]*subscription
	tasks     []*moveTask
	requestID atomic.Uint64

	faults faultSet

	// bgMu orders starting background work against Close, so that nothing
	// starts once Close is waiting for it.
	bgMu     sync.Mutex
	isClosed bool
	closed   chan struct{}
	bg       sync.WaitGroup
}

// Option configures a Server.
type Option func(*Server)

// WithRegion sets the region used in ARNs (default us-east-1).
func WithRegion(region string) Option { return func(s *Server) { s.region = region } }

// WithAccount sets the account id used in ARNs and queue URLs (default
// 000000000000).
func WithAccount(account string) Option { return func(s *Server) { s.account = account } }

// WithLogger sets the logger (default: discard).
func WithLogger(log *slog.Logger) Option { return func(s *Server) { s.log = log } }

// WithClock sets the clock, so that tests can move time forward to see
// retention expiry or deduplication windows end.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithHTTPClient sets the client used to deliver SNS messages to http and
// https subscribers.
func WithHTTPClient(c *http.Client) Option { return func(s *Server) { s.client = c } }

// New returns a Server with no queues, topics or faults.
func New(opts ...Option) *Server {
	s := &Server{
		region:  "us-east-1",
		account: "000000000000",
		log:     slog.New(slog.DiscardHandler),
		now:     time.Now,
		client:  &http.Client{Timeout: 15 * time.Second},
		queues:  map[string]*queue{},
		topics:  map[string]*topic{},
		subs:    map[string]*subscription{},
		closed:  make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Close ends long polls (they answer at once with what they have), fault
// delays, message move tasks and http deliveries in progress, and waits for the
// background work to stop. The Server answers ServiceUnavailable afterwards.
// Close is safe to call more than once and concurrently with requests.
func (s *Server) Close() error {
	s.bgMu.Lock()
	if !s.isClosed {
		s.isClosed = true
		close(s.closed)
	}
	s.bgMu.Unlock()
	s.bg.Wait()
	return nil
}

// goBackground runs fn in a goroutine that Close waits for, unless the server
// is closed already; it reports whether fn was started.
func (s *Server) goBackground(fn func()) bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.isClosed {
		return false
	}
	s.bg.Go(fn)
	return true
}

// closingContext returns a context that ends when the server closes.
func (s *Server) closingContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-s.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// Region returns the region used in ARNs.
func (s *Server) Region() string { return s.region }

// Account returns the account id used in ARNs and queue URLs.
func (s *Server) Account() string { return s.account }

func (s *Server) nextRequestID() string {
	n := s.requestID.Add(1)
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(n>>16), n)
}

// request is one decoded API call.
type request struct {
	ctx    context.Context
	action string
	host   string
	body   []byte
	json   bool
	now    time.Time
}

func (r *request) decode(v any) *APIError {
	if len(r.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return &APIError{Type: "InvalidParameterValue", Code: "InvalidParameterValue", Message: fmt.Sprintf("The value for parameter %s is invalid: %v.", ute.Field, err)}
		}
		if r.json {
			return &APIError{Type: "SerializationException", Code: "SerializationException", Message: "The request body is not valid JSON: " + err.Error()}
		}
		return errMalformed("The request parameters are malformed: %v.", err)
	}
	return nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	reqID := s.nextRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	if strings.HasPrefix(hr.URL.Path, adminPrefix) {
		s.serveAdmin(w, hr)
		return
	}
	body, err := readBody(w, hr)
	target := hr.Header.Get("X-Amz-Target")
	isJSON := target != ""
	if err != nil {
		e := &APIError{Type: "RequestEntityTooLarge", Code: "RequestEntityTooLarge", Status: http.StatusRequestEntityTooLarge, Message: "The request body is too large or could not be read."}
		if isJSON {
			writeJSONError(w, e)
		} else {
			writeXML(w, e.status(), queryError(e, sqsXMLNS, reqID))
		}
		return
	}
	r := &request{ctx: hr.Context(), host: hr.Host, now: s.now()}
	if isJSON {
		svc, action, _ := strings.Cut(target, ".")
		if svc != "AmazonSQS" {
			writeJSONError(w, &APIError{Type: "UnknownOperationException", Code: "UnknownOperationException", Message: fmt.Sprintf("The target %q is not supported.", target)})
			return
		}
		r.action, r.body, r.json = action, body, true
		out, e := s.call(r, sqsOps)
		if e != nil {
			writeJSONError(w, e)
			return
		}
		writeJSON(w, out)
		return
	}
	form, perr := parseForm(hr, body)
	if perr != nil {
		writeXML(w, perr.status(), queryError(perr, sqsXMLNS, reqID))
		return
	}
	r.action = form.Get("Action")
	service := serviceOf(hr, r.action)
	xmlns, ops, flat := sqsXMLNS, sqsOps, true
	if service == "sns" {
		xmlns, ops, flat = snsXMLNS, snsOps, false
	}
	if r.action == "" {
		e := &APIError{Type: "MissingAction", Code: "MissingAction", Message: "The request must contain the parameter Action."}
		writeXML(w, e.status(), queryError(e, xmlns, reqID))
		return
	}
	if service == "sqs" && form.Get("QueueUrl") == "" && strings.Count(strings.Trim(hr.URL.Path, "/"), "/") == 1 {
		form.Set("QueueUrl", "http://"+hr.Host+hr.URL.Path)
	}
	jb, jerr := queryToJSON(form)
	if jerr != nil {
		var e *APIError
		if !errors.As(jerr, &e) {
			e = errMalformed("%v", jerr)
		}
		writeXML(w, e.status(), queryError(e, xmlns, reqID))
		return
	}
	r.body = jb
	out, e := s.call(r, ops)
	if e != nil {
		writeXML(w, e.status(), queryError(e, xmlns, reqID))
		return
	}
	writeXML(w, http.StatusOK, queryResponse(r.action, xmlns, reqID, out, flat))
}

// readBody reads the request body, up to maxRequestBody, in one allocation
// when the client sent its length.
func readBody(w http.ResponseWriter, hr *http.Request) ([]byte, error) {
	r := http.MaxBytesReader(w, hr.Body, maxRequestBody)
	if n := hr.ContentLength; n > 0 && n <= maxRequestBody {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		// Nothing may follow the declared length.
		if _, err := r.Read(make([]byte, 1)); err != io.EOF {
			return nil, fmt.Errorf("request body longer than its Content-Length")
		}
		return b, nil
	}
	return io.ReadAll(r)
}

func parseForm(hr *http.Request, body []byte) (url.Values, *APIError) {
	form, err := url.ParseQuery(hr.URL.RawQuery)
	if err != nil {
		return nil, errMalformed("The query string is malformed: %v.", err)
	}
	if len(body) > 0 {
		bf, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errMalformed("The form body is malformed: %v.", err)
		}
		for k, v := range bf {
			form[k] = v
		}
	}
	return form, nil
}

// serviceOf tells SNS from SQS for a query protocol request: by the service
// in the signature's credential scope, else by the action name.
func serviceOf(hr *http.Request, action string) string {
	auth := hr.Header.Get("Authorization")
	if i := strings.Index(auth, "Credential="); i >= 0 {
		scope := auth[i+len("Credential="):]
		if j := strings.IndexAny(scope, ", "); j >= 0 {
			scope = scope[:j]
		}
		parts := strings.Split(scope, "/")
		if len(parts) >= 5 && (parts[3] == "sns" || parts[3] == "sqs") {
			return parts[3]
		}
	}
	if _, ok := snsOps[action]; ok {
		return "sns"
	}
	return "sqs"
}

type opFunc func(s *Server, r *request) (any, *APIError)

// call runs one operation with panics turned into InternalError and faults
// applied.
func (s *Server) call(r *request, ops map[string]opFunc) (out any, apiErr *APIError) {
	op, ok := ops[r.action]
	if !ok {
		if r.json {
			return nil, &APIError{Type: "UnknownOperationException", Code: "UnknownOperationException", Message: fmt.Sprintf("The operation %q is not supported.", r.action)}
		}
		return nil, errInvalidAction(r.action)
	}
	select {
	case <-s.closed:
		return nil, &APIError{Type: "ServiceUnavailable", Code: "ServiceUnavailable", Status: http.StatusServiceUnavailable, Server: true, Message: "The server is shutting down."}
	default:
	}
	if e := s.faults.apply(r.ctx, s.log, s.closed, r.action, s.now()); e != nil {
		return nil, e
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("operation panicked", "action", r.action, "panic", p)
			out, apiErr = nil, &APIError{Type: "InternalError", Code: "InternalError", Status: http.StatusInternalServerError, Server: true, Message: fmt.Sprintf("internal error in %s: %v", r.action, p)}
		}
	}()
	return op(s, r)
}

// jsonAppender is an output that renders itself as JSON without reflection.
type jsonAppender interface{ appendJSON(b []byte) []byte }

func writeJSON(w http.ResponseWriter, out any) {
	switch out := out.(type) {
	case nil:
		writeBody(w, jsonContentType, http.StatusOK, []byte("{}"))
	case jsonAppender:
		writeBody(w, jsonContentType, http.StatusOK, out.appendJSON(make([]byte, 0, 1024)))
	default:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			writeJSONError(w, &APIError{Type: "InternalError", Code: "InternalError", Status: 500, Server: true, Message: err.Error()})
			return
		}
		writeBody(w, jsonContentType, http.StatusOK, b.Bytes())
	}
}

const jsonContentType = "application/x-amz-json-1.0"

func writeJSONError(w http.ResponseWriter, e *APIError) {
	w.Header().Set("x-amzn-query-error", e.Code+";"+e.fault())
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{"com.amazonaws.sqs#" + e.Type, e.Message})
	writeBody(w, jsonContentType, e.status(), b)
}

func writeXML(w http.ResponseWriter, status int, b []byte) {
	writeBody(w, "text/xml", status, b)
}

// writeBody writes a whole response with its Content-Length, as AWS does
// (net/http would send bodies over 4 KiB chunked).
func writeBody(w http.ResponseWriter, contentType string, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// newSeed returns a seed for a queue's random source.
func newSeed() [32]byte {
	var b [32]byte
	_, _ = crand.Read(b[:])
	return b
}
