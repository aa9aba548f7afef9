package boot_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestReadSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string // keys the error must name; none for no error
		want    string   // addr and shutdown timeout
	}{
		{"empty", map[string]string{}, []string{"AWS_REGION", "DATABASE_HOST", "DATABASE_NAME", "DATABASE_USER"}, ":8080 20s"},
		{"bad", map[string]string{"SHUTDOWN_TIMEOUT": "2m", "LOG_FORMAT": "xml"}, []string{"SHUTDOWN_TIMEOUT", "LOG_FORMAT"}, ":8080 20s"},
		{"set", map[string]string{"AWS_REGION": "eu-west-1", "DATABASE_HOST": "db", "DATABASE_NAME": "app",
			"DATABASE_USER": "orders_api", "DATABASE_PASSWORD": "secret", "HTTP_ADDR": ":9000", "SHUTDOWN_TIMEOUT": "5s"}, nil, ":9000 5s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := config.NewReader(func(k string) string { return tt.env[k] })
			s := boot.ReadSettings(r, ":8080", 20*time.Second)
			err := r.Err()
			if got := s.Addr + " " + s.ShutdownTimeout.String(); got != tt.want && len(tt.wantErr) == 0 {
				t.Errorf("ReadSettings(%v) = %s; want %s", tt.env, got, tt.want)
			}
			if len(tt.wantErr) == 0 && err != nil {
				t.Errorf("ReadSettings(%v) error = %v; want none", tt.env, err)
			}
			for _, key := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), key) {
					t.Errorf("ReadSettings(%v) error = %v; want it to name %s", tt.env, err, key)
				}
			}
		})
	}
}

func TestStartOpensTheDatabaseAndChecksIt(t *testing.T) {
	db := dbtest.NewDatabase(t)
	env := map[string]string{"AWS_REGION": "us-east-1", "LOG_FORMAT": "json", "DATABASE_HOST": db.Host,
		"DATABASE_PORT": strconv.Itoa(db.Port), "DATABASE_NAME": db.Name, "DATABASE_USER": migrations.OrdersRole,
		"DATABASE_PASSWORD": db.ServicePassword, "DATABASE_CA_FILE": db.CAFile}
	r := config.NewReader(func(k string) string { return env[k] })
	s := boot.ReadSettings(r, ":8080", 20*time.Second)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	base, err := boot.Start(context.Background(), "api", s, r, &out)
	if err != nil {
		t.Fatalf("Start() = %v", err)
	}
	defer base.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if !base.WaitReady(ctx) {
		t.Fatalf("WaitReady() = false; want the database ready\n%s", out.String())
	}
	if rep := base.Health.Check(context.Background()); rep.Status != "ready" || rep.Checks["database"] != "ok" {
		t.Errorf("Health.Check() = %+v; want ready with the database ok", rep)
	}
	if got := out.String(); !strings.Contains(got, `"service":"api"`) || strings.Contains(got, db.ServicePassword) {
		t.Errorf("start-up log = %s; want the service named and the password masked", got)
	}
}

// Start returns at once when the database refuses the role, and reports why on the readiness check until
// Close.
func TestStartDoesNotWaitForTheDatabase(t *testing.T) {
	db := dbtest.NewDatabase(t)
	env := map[string]string{"AWS_REGION": "us-east-1", "LOG_FORMAT": "json", "DATABASE_HOST": db.Host,
		"DATABASE_PORT": strconv.Itoa(db.Port), "DATABASE_NAME": db.Name, "DATABASE_USER": "no_such_role",
		"DATABASE_PASSWORD": db.ServicePassword, "DATABASE_CA_FILE": db.CAFile}
	r := config.NewReader(func(k string) string { return env[k] })
	s := boot.ReadSettings(r, ":8080", 20*time.Second)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	var out logtest.Buffer
	t0 := time.Now()
	base, err := boot.Start(context.Background(), "api", s, r, &out)
	if err != nil {
		t.Fatalf("Start() = %v", err)
	}
	if took := time.Since(t0); took > 2*time.Second {
		t.Errorf("Start() took %v; want it to return without waiting for the database", took)
	}
	for !strings.Contains(out.String(), "database not ready yet") {
		time.Sleep(10 * time.Millisecond)
	}
	rep := base.Health.Check(context.Background())
	if rep.Status != "not ready" || !strings.Contains(rep.Reasons["database"], "role") {
		t.Errorf("Health.Check() = %+v; want not ready, the reason naming the role", rep)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if base.WaitReady(ctx) {
		t.Error("WaitReady() = true with the role refused; want false when ctx ends")
	}
	base.Close() // stops the connecting loop: the test would hang otherwise
	if strings.Contains(out.String(), db.ServicePassword) {
		t.Errorf("log holds the password: %s", out.String())
	}
}

// A service without a database reads no DATABASE_* variable, has no pool and no database check, and is ready
// at once.
func TestStartWithoutDatabase(t *testing.T) {
	var read []string
	env := map[string]string{"AWS_REGION": "us-east-1", "LOG_FORMAT": "json"}
	r := config.NewReader(func(k string) string { read = append(read, k); return env[k] })
	s := boot.ReadSettingsWithoutDatabase(r, ":8082", 30*time.Second)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range read {
		if strings.HasPrefix(k, "DATABASE_") {
			t.Errorf("read %s; a service without a database reads no DATABASE_* variable", k)
		}
	}
	base, err := boot.Start(context.Background(), "shipping", s, r, &logtest.Buffer{})
	if err != nil {
		t.Fatalf("Start() = %v", err)
	}
	defer base.Close()
	if base.Pool != nil {
		t.Error("Pool is set; want none without a database")
	}
	if rep := base.Health.Check(context.Background()); rep.Status != "ready" || len(rep.Reasons) != 0 {
		t.Errorf("Health.Check() = %+v; want ready with no reason", rep)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if !base.WaitReady(ctx) {
		t.Error("WaitReady() = false; want true at once without a database")
	}
}
