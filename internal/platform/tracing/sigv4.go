package tracing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The CloudWatch OTLP traces endpoint is https://xray.<region>.amazonaws.com/v1/traces and authenticates
// callers with Signature Version 4 (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-OTLPEndpoint.html).
// The services sign their export requests themselves with the task role's credentials (docs/adr/0015), so no
// collector runs beside them.
const xraySigningName = "xray"

// xrayRegion returns the region of an X-Ray OTLP endpoint URL ("https://xray.eu-west-1.amazonaws.com/v1/traces"),
// or "" for any other endpoint (a local collector), whose requests are not signed.
func xrayRegion(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" {
		return ""
	}
	host := u.Hostname()
	if !strings.HasPrefix(host, "xray.") || !strings.HasSuffix(host, ".amazonaws.com") {
		return ""
	}
	region := strings.TrimSuffix(strings.TrimPrefix(host, "xray."), ".amazonaws.com")
	if region == "" || strings.Contains(region, ".") {
		return ""
	}
	return region
}

// sigv4Transport signs each request for the X-Ray OTLP endpoint of region.
type sigv4Transport struct {
	next   http.RoundTripper
	creds  aws.CredentialsProvider
	region string
	signer *v4.Signer
	now    func() time.Time
}

func (t *sigv4Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("sign trace export: read body: %w", err)
		}
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	sum := sha256.Sum256(body)
	creds, err := t.creds.Retrieve(r.Context())
	if err != nil {
		return nil, fmt.Errorf("sign trace export: credentials: %w", err)
	}
	if err := t.signer.SignHTTP(r.Context(), creds, r, hex.EncodeToString(sum[:]), xraySigningName, t.region, t.now()); err != nil {
		return nil, fmt.Errorf("sign trace export: %w", err)
	}
	return t.next.RoundTrip(r)
}

// signingClient returns the HTTP client of the exporter: plain for a local collector, signing with awsCfg's
// credentials for the X-Ray OTLP endpoint (an error when there are none).
func signingClient(ctx context.Context, endpoint string, awsCfg *aws.Config) (*http.Client, error) {
	region := xrayRegion(endpoint)
	if region == "" {
		return nil, nil
	}
	if awsCfg == nil || awsCfg.Credentials == nil {
		return nil, fmt.Errorf("tracing: %s is the X-Ray OTLP endpoint, whose requests are signed; no AWS credentials were given", endpoint)
	}
	_ = ctx
	return &http.Client{Transport: &sigv4Transport{next: http.DefaultTransport, creds: awsCfg.Credentials, region: region,
		signer: v4.NewSigner(), now: time.Now}}, nil
}
