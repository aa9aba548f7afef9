package apicmd

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/loadtest"
)

// TestStartsBeforeItsRoleExistsAndBecomesReadyAfterTheMigration runs the api binary as on a first deploy,
// before the migration has created its role: it must stay up (/healthz 200), report not ready with the reason
// (/readyz 503) and answer the API with 503, and become ready once the migration has run, without a restart.
// Its log names each failed attempt and never the password.
func TestStartsBeforeItsRoleExistsAndBecomesReadyAfterTheMigration(t *testing.T) {
	const shutdown = 5 * time.Second
	db := dbtest.NewUnmigratedServer(t)
	sys := loadtest.NewSystemOn(t, 5*time.Second, db)
	bin := devenvtest.Build(t, "./cmd/api", "./cmd/migrate")
	p := loadtest.Start(t, filepath.Join(bin, "api"), sys.APIEnv(shutdown))
	base := "http://" + p.Addr

	if code, body := loadtest.Probe(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz before the migration = %d %s; want 200 (the process is alive)", code, body)
	}
	var rep health.Report
	loadtest.Eventually(t, "/readyz gives the missing role as its reason", func() bool {
		code, body := loadtest.Probe(t, base+"/readyz")
		if code != http.StatusServiceUnavailable {
			t.Fatalf("GET /readyz before the migration = %d %s; want 503", code, body)
		}
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			t.Fatalf("GET /readyz body %q: %v", body, err)
		}
		return strings.Contains(rep.Reasons["database"], "role")
	})
	if rep.Status != "not ready" || rep.Checks["database"] != "failed" {
		t.Errorf("GET /readyz before the migration = %+v; want not ready with the database failed", rep)
	}
	if code, body := loadtest.Probe(t, base+"/api/orders?limit=1"); code != http.StatusServiceUnavailable {
		t.Errorf("GET /api/orders before the migration = %d %s; want 503", code, body)
	}
	// Long enough for several attempts: the process must still be running.
	time.Sleep(time.Second)
	if p.Exited() {
		t.Fatalf("api exited before the migration ran:\n%s", p.Output.String())
	}

	loadtest.Migrate(t, filepath.Join(bin, "migrate"), db)
	t0 := time.Now()
	loadtest.Eventually(t, "/readyz answers 200 after the migration", func() bool {
		code, _ := loadtest.Probe(t, base+"/readyz")
		return code == http.StatusOK
	})
	t.Logf("ready %v after the migration", time.Since(t0).Round(time.Millisecond))
	if code, body := loadtest.Probe(t, base+"/api/orders?limit=1"); code != http.StatusOK {
		t.Errorf("GET /api/orders after the migration = %d %s; want 200", code, body)
	}
	if err := p.Stop(shutdown); err != nil {
		t.Errorf("api after SIGTERM: %v; want exit status 0", err)
	}
	out := p.Output.String()
	if !strings.Contains(out, "database not ready yet") || !strings.Contains(out, "run the migration") {
		t.Errorf("api output lacks the failed attempts and their reason:\n%s", out)
	}
	if strings.Contains(out, db.ServicePassword) {
		t.Errorf("api output holds the database password:\n%s", out)
	}
}

// TestSIGTERMWhileWaitingForTheDatabaseExitsCleanly stops the api binary while its role does not exist yet:
// it must exit 0 at once, not wait for the database or its shutdown budget.
func TestSIGTERMWhileWaitingForTheDatabaseExitsCleanly(t *testing.T) {
	const shutdown = 10 * time.Second
	sys := loadtest.NewSystemOn(t, 5*time.Second, dbtest.NewUnmigratedServer(t))
	bin := devenvtest.Build(t, "./cmd/api")
	p := loadtest.Start(t, filepath.Join(bin, "api"), sys.APIEnv(shutdown))
	loadtest.Eventually(t, "a failed connection attempt", func() bool {
		return strings.Contains(p.Output.String(), "database not ready yet")
	})
	t0 := time.Now()
	if err := p.Stop(shutdown); err != nil {
		t.Fatalf("api after SIGTERM while waiting for the database: %v; want exit status 0", err)
	}
	// The HTTP server's drain (a tenth of the budget for the load balancer, then open requests) is all it waits.
	if took := time.Since(t0); took > shutdown/2 {
		t.Errorf("api took %v to exit after SIGTERM while waiting for the database; want well under %v", took, shutdown)
	}
}

// TestSystemTrustStore runs the api binary with DATABASE_CA_FILE=system, as behind RDS Proxy, whose ACM
// certificate chains to roots of the operating system's store. Go reads the store from SSL_CERT_FILE on Linux,
// so the test makes the local server's CA that store: the api verifies the server against it (verify-full) and
// becomes ready. With a store that lacks the CA (the RDS bundle instead), it stays not ready and says why.
func TestSystemTrustStore(t *testing.T) {
	const shutdown = 5 * time.Second
	sys := loadtest.NewSystem(t, 5*time.Second)
	bin := filepath.Join(devenvtest.Build(t, "./cmd/api"), "api")
	for _, tc := range []struct {
		name, store string
		ready       bool
	}{
		{"the store holds the server's CA", sys.DB.CAFile, true},
		{"the store lacks the server's CA", filepath.Join(devenvtest.Root(t), "certs", "rds-global-bundle.pem"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := sys.APIEnv(shutdown)
			env["DATABASE_CA_FILE"] = "system"
			env["SSL_CERT_FILE"] = tc.store
			env["SSL_CERT_DIR"] = t.TempDir() // nothing from the machine's own store
			p := loadtest.Start(t, bin, env)
			base := "http://" + p.Addr
			if tc.ready {
				loadtest.Eventually(t, "/readyz answers 200", func() bool {
					code, _ := loadtest.Probe(t, base+"/readyz")
					return code == http.StatusOK
				})
			} else {
				loadtest.Eventually(t, "/readyz names the untrusted certificate", func() bool {
					code, body := loadtest.Probe(t, base+"/readyz")
					if code != http.StatusServiceUnavailable {
						t.Fatalf("GET /readyz = %d %s; want 503", code, body)
					}
					return strings.Contains(body, "DATABASE_CA_FILE")
				})
			}
			if err := p.Stop(shutdown); err != nil {
				t.Errorf("api after SIGTERM: %v; want exit status 0", err)
			}
		})
	}
}
