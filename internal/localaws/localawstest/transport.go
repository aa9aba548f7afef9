package localawstest

import (
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
