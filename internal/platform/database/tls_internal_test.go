package database

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// The TLS configuration pgx builds for each DATABASE_CA_FILE form: system verifies against the operating
// system's roots with the host name checked (verify-full, as RDS Proxy needs); a bundle path against exactly
// that bundle.
func TestPoolConfigTrustAnchors(t *testing.T) {
	system, err := x509.SystemCertPool()
	if err != nil {
		t.Fatal(err)
	}
	bundlePath, err := filepath.Abs(filepath.Join("..", "..", "..", "certs", "rds-global-bundle.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	bundle := x509.NewCertPool()
	if !bundle.AppendCertsFromPEM(pem) {
		t.Fatal("the RDS bundle holds no certificate")
	}
	const host = "app.proxy-abc.eu-west-1.rds.amazonaws.com"
	tests := []struct {
		name, caFile, sslMode string
		want                  *x509.CertPool
	}{
		{"system", SystemRoots, "verify-full", system},
		{"system forces verify-full", SystemRoots, "require", system},
		{"bundle", bundlePath, "verify-full", bundle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, err := Config{Host: host, Port: 5432, Name: "app", User: "orders_api", SSLMode: tt.sslMode, CAFile: tt.caFile}.poolConfig()
			if err != nil {
				t.Fatal(err)
			}
			tc := pc.ConnConfig.TLSConfig
			if tc == nil {
				t.Fatal("no TLS configuration")
			}
			if !tc.RootCAs.Equal(tt.want) {
				t.Errorf("RootCAs is not the %s pool", tt.name)
			}
			// verify-full: Go's own verification, with the host name; verify-ca would skip it (InsecureSkipVerify
			// with a VerifyPeerCertificate of its own).
			if tc.InsecureSkipVerify || tc.ServerName != host {
				t.Errorf("InsecureSkipVerify = %v, ServerName = %q; want false and %q (verify-full)", tc.InsecureSkipVerify, tc.ServerName, host)
			}
			if len(pc.ConnConfig.Fallbacks) != 0 {
				t.Errorf("%d fallback configurations; want none (no plaintext or unverified fallback)", len(pc.ConnConfig.Fallbacks))
			}
		})
	}
}
