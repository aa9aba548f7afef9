package localawstest

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
)

// Client returns an http.Client whose requests h serves in memory, in the
// calling goroutine, without sockets. Give it to an AWS SDK client as its
// HTTPClient, with any BaseEndpoint (the host becomes the host of queue
// URLs):
//
//	srv := localaws.New()
//	c := sqs.New(sqs.Options{BaseEndpoint: aws.String("http://localaws"), HTTPClient: localawstest.Client(srv), ...})
//
// Long polls block the call as they would over the network; cancelling the
// request's context ends them.
func Client(h http.Handler) *http.Client {
	return &http.Client{Transport: transport{h}}
}

// transport is an http.RoundTripper that calls a handler directly.
type transport struct{ h http.Handler }

// RoundTrip implements http.RoundTripper.
func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	sr := new(http.Request)
	*sr = *req
	if sr.Host == "" {
		sr.Host = req.URL.Host
	}
	sr.RequestURI = req.URL.RequestURI()
	sr.Proto, sr.ProtoMajor, sr.ProtoMinor = "HTTP/1.1", 1, 1
	sr.RemoteAddr = "127.0.0.1:0"
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	w := &responseWriter{header: http.Header{}}
	t.h.ServeHTTP(w, sr)
	if req.Body != nil {
		_ = req.Body.Close()
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.header,
		Body:          io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()),
		Request:       req,
	}, nil
}

// responseWriter collects a handler's response.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
