package database

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/jackc/pgx/v5"
)

// With IAM authentication each new connection gets a fresh RDS token as its password, signed for the
// database user at the endpoint.
func TestIAMTokenBeforeConnect(t *testing.T) {
	cfg := Config{Host: "db.abc.eu-west-1.rds.amazonaws.com", Port: 5432, Name: "app", User: "orders_api",
		IAMAuth: true, Region: "eu-west-1", SSLMode: "verify-full",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	pc, err := cfg.poolConfig()
	if err != nil {
		t.Fatal(err)
	}
	if pc.BeforeConnect == nil {
		t.Fatal("BeforeConnect = nil; want the token hook")
	}
	cc := &pgx.ConnConfig{}
	if err := pc.BeforeConnect(context.Background(), cc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"db.abc.eu-west-1.rds.amazonaws.com:5432?", "Action=connect", "DBUser=orders_api",
		"X-Amz-Credential=AKIDEXAMPLE", "X-Amz-Signature="} {
		if !strings.Contains(cc.Password, want) {
			t.Errorf("token %q does not contain %q", cc.Password, want)
		}
	}
	if _, err := (Config{IAMAuth: true, Host: "h", Port: 1, SSLMode: "verify-full"}).poolConfig(); err == nil {
		t.Error("poolConfig with IAM and no credentials = nil error; want one")
	}
}
