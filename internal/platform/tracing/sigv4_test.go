package tracing

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

func TestXRayRegion(t *testing.T) {
	for endpoint, want := range map[string]string{
		"https://xray.eu-west-1.amazonaws.com/v1/traces": "eu-west-1",
		"http://xray.eu-west-1.amazonaws.com/v1/traces":  "", // never unsigned-looking plain HTTP
		"http://127.0.0.1:4318/v1/traces":                "",
		"https://xray.amazonaws.com/v1/traces":           "",
		"https://collector.example.com/v1/traces":        "",
	} {
		if got := xrayRegion(endpoint); got != want {
			t.Errorf("xrayRegion(%s) = %q; want %q", endpoint, got, want)
		}
	}
}

func TestSigV4TransportSignsForXRay(t *testing.T) {
	var auth, date, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, date = r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date")
		b, _ := io.ReadAll(r.Body)
		body = string(b)
	}))
	defer srv.Close()
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")
	c := &http.Client{Transport: &sigv4Transport{next: http.DefaultTransport, creds: creds, region: "eu-west-1",
		signer: v4.NewSigner(), now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}}
	resp, err := c.Post(srv.URL+"/v1/traces", "application/x-protobuf", strings.NewReader("spans"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/xray/aws4_request") || date != "20260102T030405Z" {
		t.Errorf("Authorization %q, X-Amz-Date %q; want a SigV4 signature for xray in eu-west-1", auth, date)
	}
	if body != "spans" {
		t.Errorf("body %q arrived; want it unchanged after signing", body)
	}
}

func TestSigningClientNeedsCredentialsForXRay(t *testing.T) {
	if _, err := signingClient(t.Context(), "https://xray.eu-west-1.amazonaws.com/v1/traces", &aws.Config{}); err == nil {
		t.Error("signingClient for X-Ray without credentials succeeded; want an error")
	}
	if c, err := signingClient(t.Context(), "http://127.0.0.1:4318/v1/traces", nil); c != nil || err != nil {
		t.Errorf("signingClient for a local collector = %v, %v; want the default client", c, err)
	}
}
