package workercmd

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/loadtest"
)

// TestReceivesNothingBeforeItsRoleExistsAndWorksAfterTheMigration runs the worker binary as on a first
// deploy, before the migration has created its role, with an order waiting in its queue: it must stay up
// (/healthz 200), report not ready with the reason (/readyz 503), leave the message in the queue untouched,
// and once the migration has run become ready and handle the order, without a restart. SIGTERM then stops it
// cleanly.
func TestReceivesNothingBeforeItsRoleExistsAndWorksAfterTheMigration(t *testing.T) {
	const shutdown = 5 * time.Second
	db := dbtest.NewUnmigratedServer(t)
	sys := loadtest.NewSystemOn(t, 30*time.Second, db)
	bin := devenvtest.Build(t, "./cmd/worker", "./cmd/migrate")
	e := placedEvent(t, "SKU-2", 1)
	body, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.SQS.SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(sys.QueueURL[events.FulfillmentQueue]), MessageBody: aws.String(string(body))}); err != nil {
		t.Fatal(err)
	}

	p := loadtest.Start(t, filepath.Join(bin, "worker"), sys.WorkerEnv(shutdown))
	base := "http://" + p.Addr
	if code, body := loadtest.Probe(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz before the migration = %d %s; want 200", code, body)
	}
	loadtest.Eventually(t, "/readyz gives the missing role as its reason", func() bool {
		code, body := loadtest.Probe(t, base+"/readyz")
		var rep health.Report
		if code != http.StatusServiceUnavailable || json.Unmarshal([]byte(body), &rep) != nil {
			t.Fatalf("GET /readyz before the migration = %d %s; want 503 with a report", code, body)
		}
		return strings.Contains(rep.Reasons["database"], "role")
	})
	// A consumer that ran would have received the message within this time (long polling answers at once).
	time.Sleep(2 * time.Second)
	if visible, inFlight := queueCounts(t, sys); visible != "1" || inFlight != "0" {
		t.Fatalf("fulfillment queue before the migration: %s visible, %s in flight; want the message untouched (1, 0)", visible, inFlight)
	}
	if p.Exited() {
		t.Fatalf("worker exited before the migration ran:\n%s", p.Output.String())
	}

	loadtest.Migrate(t, filepath.Join(bin, "migrate"), db)
	loadtest.Eventually(t, "/readyz answers 200 after the migration", func() bool {
		code, _ := loadtest.Probe(t, base+"/readyz")
		return code == http.StatusOK
	})
	loadtest.Eventually(t, "the waiting order is handled", func() bool {
		return sys.Count(t, `SELECT count(*) FROM fulfillment.reservations WHERE order_id::text = $1`, e.Subject) == 1
	})
	if err := p.Stop(shutdown); err != nil {
		t.Errorf("worker after SIGTERM: %v; want exit status 0", err)
	}
	if out := p.Output.String(); strings.Contains(out, db.ServicePassword) || !strings.Contains(out, "database not ready yet") {
		t.Errorf("worker output must log the failed attempts and never the password:\n%s", out)
	}
}

// TestSIGTERMWhileWaitingForTheDatabaseExitsCleanly stops the worker binary while its role does not exist yet:
// it must exit 0 at once, without waiting for its shutdown budget.
func TestSIGTERMWhileWaitingForTheDatabaseExitsCleanly(t *testing.T) {
	const shutdown = 20 * time.Second
	sys := loadtest.NewSystemOn(t, 30*time.Second, dbtest.NewUnmigratedServer(t))
	bin := devenvtest.Build(t, "./cmd/worker")
	p := loadtest.Start(t, filepath.Join(bin, "worker"), sys.WorkerEnv(shutdown))
	loadtest.Eventually(t, "a failed connection attempt", func() bool {
		return strings.Contains(p.Output.String(), "database not ready yet")
	})
	t0 := time.Now()
	if err := p.Stop(shutdown); err != nil {
		t.Fatalf("worker after SIGTERM while waiting for the database: %v; want exit status 0", err)
	}
	if took := time.Since(t0); took > 2*time.Second {
		t.Errorf("worker took %v to exit after SIGTERM while waiting for the database; want under 2s", took)
	}
}

func queueCounts(t *testing.T, sys *loadtest.System) (visible, inFlight string) {
	t.Helper()
	out, err := sys.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(sys.QueueURL[events.FulfillmentQueue]),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes["ApproximateNumberOfMessages"], out.Attributes["ApproximateNumberOfMessagesNotVisible"]
}
