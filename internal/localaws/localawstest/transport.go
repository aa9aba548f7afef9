package localawstest

import (
	"io"
	"net/http"
	"net/http/httptest"
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
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, sr)
	if req.Body != nil {
		_ = req.Body.Close()
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// HTTPClient returns an http.Client for SDK clients that talk to a localaws
// server over the network (New, cmd/localaws). It hides io.WriterTo of
// request bodies: with it, net/http's check for bytes past Content-Length
// runs through the SDK's rewindable request stream and, when a fast local
// server has already answered, can fail the write and close the connection
// under the response being read ("use of closed network connection",
// aws/aws-sdk-go-v2 issues 1825 and 2737), mostly with large responses under
// concurrency. Against AWS, answers come too late for that to happen.
func HTTPClient() *http.Client {
	return &http.Client{Transport: hideWriterTo{http.DefaultTransport.(*http.Transport).Clone()}}
}

type hideWriterTo struct{ rt http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (h hideWriterTo) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return h.rt.RoundTrip(r)
}
