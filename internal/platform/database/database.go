// Package database opens the services' PostgreSQL connection pool (pgx v5) the way RDS expects to be reached:
// TLS with verify-full against a configurable CA bundle (the RDS global bundle on AWS, the throwaway server's CA
// locally), and optionally IAM authentication tokens instead of a password, generated per connection so they
// never expire in a long-lived pool.
//
// Connecting never blocks a service's start: New returns a pool at once and Wait retries with backoff, without
// a deadline, until the database accepts the service's role (on a first deploy the role exists only once the
// migration has run; during a failover the instance is briefly gone), logging each failure with a Reason that
// names the likely cause. Open does the same bounded by a context, for one-off commands such as the migration.
// The pool reconnects by itself afterwards, and Ready lets /readyz report when it cannot (docs/adr/0007).
package database

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
)

// Config says where the database is and how to authenticate (docs/configuration.md).
type Config struct {
	Host     string
	Port     int
	Name     string
	User     string
	Password config.Secret
	// IAMAuth connects with an RDS IAM authentication token built from Credentials and Region instead of
	// Password.
	IAMAuth     bool
	Region      string
	Credentials aws.CredentialsProvider
	// SSLMode is verify-full (used on AWS and locally), verify-ca or require.
	SSLMode string
	// CAFile is what the server certificate is verified against: the path of a PEM bundle (the RDS bundle for a
	// DB instance), SystemRoots (the operating system's roots, for RDS Proxy) or, in a Config built in code,
	// "" (Go's system roots, without forcing verify-full).
	CAFile string
	// MaxConns bounds the pool; 0 means 10.
	MaxConns int32
}

// SystemRoots is the DATABASE_CA_FILE value that verifies the server against the operating system's roots
// (pgx's sslrootcert=system, which pgx v5 supports since v5.7.0: "Add support for sslrootcert=system" in its
// CHANGELOG, pgconn/config.go configTLS loads x509.SystemCertPool and forces verify-full). RDS Proxy presents
// an ACM certificate that chains to the Amazon Trust Services roots, not to the RDS CAs
// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.howitworks.html#rds-proxy-security.tls,
// https://docs.aws.amazon.com/prescriptive-guidance/latest/amazon-rds-proxy/best-practices.html); the image's
// base ships those roots in its ca-certificates. libpq allows sslrootcert=system with verify-full only
// (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNECT-SSLROOTCERT), and so does
// ReadConfig.
const SystemRoots = "system"

// ReadConfig reads the DATABASE_* variables of docs/configuration.md. With DATABASE_IAM_AUTH=true it also needs
// AWS_REGION, and the caller sets Credentials from its AWS configuration.
func ReadConfig(r *config.Reader) Config {
	c := Config{
		Host:     r.Required("DATABASE_HOST"),
		Port:     r.Int("DATABASE_PORT", 5432, 1, 65535),
		Name:     r.Required("DATABASE_NAME"),
		User:     r.Required("DATABASE_USER"),
		Password: r.Secret("DATABASE_PASSWORD"),
		IAMAuth:  r.Bool("DATABASE_IAM_AUTH", false),
		SSLMode:  r.OneOf("DATABASE_SSLMODE", "verify-full", "verify-full", "verify-ca", "require"),
		CAFile:   r.String("DATABASE_CA_FILE", SystemRoots),
	}
	checkCAFile(r, c.CAFile, c.SSLMode)
	if c.IAMAuth {
		c.Region = r.Required("AWS_REGION")
		r.Check(c.Password == "", "DATABASE_PASSWORD", "must be unset when DATABASE_IAM_AUTH is true")
	} else {
		r.Check(c.Password != "", "DATABASE_PASSWORD", "required unless DATABASE_IAM_AUTH is true")
	}
	return c
}

// checkCAFile reports a DATABASE_CA_FILE that can never work: neither SystemRoots nor an absolute path to a
// readable PEM file holding at least one certificate, or SystemRoots with a mode weaker than verify-full.
func checkCAFile(r *config.Reader, caFile, sslMode string) {
	const key = "DATABASE_CA_FILE"
	switch {
	case caFile == SystemRoots:
		r.Check(sslMode == "verify-full", key, "system (the operating system's roots) needs DATABASE_SSLMODE=verify-full: any certificate a public CA issued for another name would pass a weaker check")
		return
	case !filepath.IsAbs(caFile):
		r.Fail(key, fmt.Sprintf("%q is neither %q nor an absolute path to a PEM bundle", caFile, SystemRoots))
		return
	}
	data, err := os.ReadFile(caFile)
	if err != nil {
		r.Fail(key, fmt.Sprintf("cannot read the CA bundle: %v", err))
		return
	}
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			r.Fail(key, caFile+" holds no PEM certificate")
			return
		}
		if _, err := x509.ParseCertificate(block.Bytes); block.Type == "CERTIFICATE" && err == nil {
			return
		}
	}
}

// LogValue describes the configuration without its secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host), slog.Int("port", c.Port), slog.String("name", c.Name),
		slog.String("user", c.User), slog.Bool("iam_auth", c.IAMAuth), slog.String("sslmode", c.SSLMode),
		slog.String("ca_file", c.CAFile),
	)
}

// poolConfig turns the configuration into a pgx pool configuration.
func (c Config) poolConfig() (*pgxpool.Config, error) {
	q := url.Values{"sslmode": {c.SSLMode}}
	if c.CAFile != "" {
		q.Set("sslrootcert", c.CAFile)
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(c.User),
		Host:     net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		Path:     "/" + c.Name,
		RawQuery: q.Encode(),
	}
	pc, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("database configuration: %w", err)
	}
	pc.ConnConfig.Password = c.Password.Reveal()
	pc.ConnConfig.ConnectTimeout = 5 * time.Second
	pc.MaxConns = c.MaxConns
	if pc.MaxConns == 0 {
		pc.MaxConns = 10
	}
	// Connections are recycled so that a failover or a DNS change reaches every connection in time.
	pc.MaxConnLifetime = 30 * time.Minute
	pc.MaxConnLifetimeJitter = 5 * time.Minute
	pc.HealthCheckPeriod = 15 * time.Second
	if c.IAMAuth {
		if c.Credentials == nil || c.Region == "" {
			return nil, errors.New("database configuration: IAM authentication needs AWS credentials and a region")
		}
		endpoint := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
		pc.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
			// Tokens live 15 minutes and are only checked at log-in: one per new connection.
			token, err := auth.BuildAuthToken(ctx, endpoint, c.Region, c.User, c.Credentials)
			if err != nil {
				return fmt.Errorf("build IAM authentication token: %w", err)
			}
			cc.Password = token
			return nil
		}
	}
	return pc, nil
}

// New returns a connection pool for cfg without connecting: connections are made when first used. Only a
// configuration that can never work (an unreadable CA file, IAM authentication without credentials) is an
// error.
func New(cfg Config) (*pgxpool.Pool, error) {
	pc, err := cfg.poolConfig()
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, fmt.Errorf("create database pool: %w", err)
	}
	return pool, nil
}

// Open returns a connection pool once the database answers. It retries like Wait until ctx ends; give ctx a
// deadline to bound start-up.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := Wait(ctx, pool, nil, log); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database %s at %s:%d: %w", cfg.Name, cfg.Host, cfg.Port, err)
	}
	return pool, nil
}

// MaxRetryDelay is the longest pause between two attempts of Wait.
const MaxRetryDelay = 5 * time.Second

// Wait pings the database through pool until it answers, with exponential backoff and full jitter (100 ms up
// to MaxRetryDelay) and no deadline of its own: it returns nil once connected, or ctx's error (with the last
// failure) when ctx ends first. Each failure is logged at warn with its Reason; the error text comes from pgx,
// which never includes the password or IAM token. onFailure, when not nil, is told each failure.
func Wait(ctx context.Context, pool *pgxpool.Pool, onFailure func(error), log *slog.Logger) error {
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := pool.Ping(ctx)
		if err == nil {
			if attempt > 1 {
				log.Info("database ready", "attempt", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		}
		if onFailure != nil {
			onFailure(err)
		}
		log.Warn("database not ready yet", "attempt", attempt, "retry_in", delay.Round(time.Millisecond),
			"reason", Reason(err), "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(delay):
		}
		// Full jitter keeps many tasks started together from retrying in step.
		delay = min(2*delay, MaxRetryDelay)
		delay = delay/2 + rand.N(delay/2+1)
	}
}

// Reason names the likely cause of a connection failure in a few words, for logs and for /readyz: it holds no
// host, user or secret, only the class of failure and what usually fixes it.
func Reason(err error) string {
	var pgErr *pgconn.PgError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var certErr *tls.CertificateVerificationError
	var netErr net.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pgErr):
		switch pgErr.Code {
		case "28000", "28P01": // invalid_authorization_specification, invalid_password
			return "the database refuses the service's role: it does not exist yet or cannot log in (run the migration)"
		case "3D000": // invalid_catalog_name
			return "the database does not exist"
		case "57P03": // cannot_connect_now
			return "the database is starting up or shutting down"
		case "53300": // too_many_connections
			return "the database has no connection slot left"
		}
		return "the database refused the connection (SQLSTATE " + pgErr.Code + ")"
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &certErr):
		return "the server's TLS certificate is not trusted (check DATABASE_CA_FILE and DATABASE_HOST)"
	case errors.As(err, &netErr):
		return "the database is unreachable"
	}
	return "the database cannot be used"
}

// InTx runs fn in a transaction, committing when fn returns nil and rolling back otherwise (also when fn
// panics). Changes and the events that describe them (the outbox) are written in one such transaction.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	if err := pgx.BeginFunc(ctx, pool, fn); err != nil {
		return fmt.Errorf("transaction: %w", err)
	}
	return nil
}

// Ready returns a readiness check for the pool: it fails when no connection to the database can be used
// within ctx's deadline.
func Ready(pool *pgxpool.Pool) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := pool.Ping(ctx); err != nil {
			return fmt.Errorf("database: %w", err)
		}
		return nil
	}
}
