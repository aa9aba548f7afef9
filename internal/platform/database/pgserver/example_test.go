package pgserver_test

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/pgserver"
)

// Start a throwaway server, connect over TLS with verify-full, and stop it.
func ExampleStart() {
	ctx := context.Background()
	srv, err := pgserver.Start(ctx, pgserver.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Stop()

	conn, err := pgx.Connect(ctx, srv.DSN("postgres"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close(ctx)
	var version string
	if err := conn.QueryRow(ctx, "SHOW server_version_num").Scan(&version); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(version[:2])
	// Output: 15
}
