package dbtest_test

import (
	"context"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
)

// A test asks for a database of its own: migrated, reached over TLS verify-full, dropped when the test ends.
// The package's tests run through dbtest.Main:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
func ExampleNew() {
	testInbox := func(t *testing.T) {
		pool := dbtest.New(t)
		_, err := pool.Exec(context.Background(), "INSERT INTO orders.inbox (event_id) VALUES (gen_random_uuid())")
		if err != nil {
			t.Fatal(err)
		}
	}
	_ = testInbox
}
