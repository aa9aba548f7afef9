package localaws

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is an in-memory SQS and SNS endpoint. Create it with New; it is safe
// for concurrent use.
//
// A Server only dispatches: each request goes to the SQS or the SNS service,
// which own their state and locks (see the package documentation for the
// lock order). What the Server itself keeps (faults, request ids, the
// lifecycle) has locks of its own that are never held while a service runs.
type Server struct {
	region  string
	account string
	log     *slog.Logger
	now     func() time.Time
	client  *http.Client

	requestID atomic.Uint64
	faults    faultSet
	life      *lifecycle

	sqs *sqsService
	sns *snsService
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
// retention expiry, deduplication windows or the PurgeQueue interval end.
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
		life:    &lifecycle{closed: make(chan struct{})},
	}
	for _, o := range opts {
		o(s)
	}
	// The services are built after the options, from their final values.
	s.sqs = &sqsService{region: s.region, account: s.account, now: s.now, log: s.log, life: s.life,
		queues: map[string]*queue{}}
	s.sns = &snsService{region: s.region, account: s.account, now: s.now, log: s.log, life: s.life,
		client: s.client, queues: s.sqs, topics: map[string]*topic{}, subs: map[string]*subscription{}}
	return s
}

// Close ends long polls (they answer at once with what they have), fault
// delays, message move tasks and http deliveries in progress, and waits for the
// background work to stop. The Server answers ServiceUnavailable afterwards.
// Close is safe to call more than once and concurrently with requests.
func (s *Server) Close() error {
	s.life.close()
	s.life.bg.Wait()
	return nil
}

// Region returns the region used in ARNs.
func (s *Server) Region() string { return s.region }

// Account returns the account id used in ARNs and queue URLs.
func (s *Server) Account() string { return s.account }

// CreateQueue creates a queue, or returns the existing one when its attributes
// match, like the CreateQueue action; it returns the queue name.
func (s *Server) CreateQueue(name string, attrs, tags map[string]string) (string, *APIError) {
	return s.sqs.create(name, attrs, tags)
}

// CreateTopic creates a topic, or returns the existing one, like the
// CreateTopic action; it returns the topic ARN.
func (s *Server) CreateTopic(name string, attrs, tags map[string]string) (string, *APIError) {
	return s.sns.create(name, attrs, tags)
}

// Subscribe subscribes an endpoint to a topic like the Subscribe action. The
// base URL is where http subscribers are told to confirm. It returns the
// subscription ARN and whether the subscription awaits confirmation.
func (s *Server) Subscribe(baseURL, topicARN, protocol, endpoint string, attrs map[string]string) (string, bool, *APIError) {
	return s.sns.subscribe(baseURL, topicARN, protocol, endpoint, attrs)
}

// lifecycle is what Close ends: the closed channel that long polls, fault
// delays and move tasks watch, and the background goroutines (http
// deliveries, move tasks) that Close waits for. Its mu orders starting
// background work against Close, so that nothing starts once Close is
// waiting; it is a leaf lock.
type lifecycle struct {
	mu       sync.Mutex
	isClosed bool
	closed   chan struct{}
	bg       sync.WaitGroup
}

// close closes the closed channel once.
func (l *lifecycle) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.isClosed {
		l.isClosed = true
		close(l.closed)
	}
}

// goBackground runs fn in a goroutine that Close waits for, unless the server
// is closed already; it reports whether fn was started.
func (l *lifecycle) goBackground(fn func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isClosed {
		return false
	}
	l.bg.Go(fn)
	return true
}

// context returns a context that ends when the server closes.
func (l *lifecycle) context() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-l.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// isDone reports whether the server has been closed.
func (l *lifecycle) isDone() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

func (s *Server) nextRequestID() string {
	n := s.requestID.Add(1)
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(n>>16), n)
}

// request is one decoded API call. Both protocols end up here: query protocol
// parameters are turned into the JSON document the JSON protocol would have
// sent (queryToJSON), so each operation has one decoder.
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
	body, berr := readBody(w, hr)
	target := hr.Header.Get("X-Amz-Target")
	isJSON := target != ""
	if berr != nil {
		if isJSON {
			writeJSONError(w, berr)
		} else {
			writeXML(w, berr.status(), queryError(berr, sqsXMLNS, reqID))
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

// opFunc runs one action. The tables sqsOps and snsOps bind each action to
// the service that owns it (see sqsOp and snsOp).
type opFunc func(s *Server, r *request) (any, *APIError)

// sqsOp and snsOp turn a method of a service into an opFunc.
func sqsOp(f func(*sqsService, *request) (any, *APIError)) opFunc {
	return func(s *Server, r *request) (any, *APIError) { return f(s.sqs, r) }
}

func snsOp(f func(*snsService, *request) (any, *APIError)) opFunc {
	return func(s *Server, r *request) (any, *APIError) { return f(s.sns, r) }
}

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
	if s.life.isDone() {
		return nil, &APIError{Type: "ServiceUnavailable", Code: "ServiceUnavailable", Status: http.StatusServiceUnavailable, Server: true, Message: "The server is shutting down."}
	}
	if e := s.faults.apply(r.ctx, s.log, s.life.closed, r.action, s.now()); e != nil {
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

// newSeed returns a seed for a random source of ids.
func newSeed() [32]byte {
	var b [32]byte
	_, _ = crand.Read(b[:])
	return b
}
