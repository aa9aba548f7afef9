// Package migrations holds the database's SQL migrations, embedded so that the migrate binary carries them and
// needs no files beside it in the image. They are goose migrations (`-- +goose Up` / `-- +goose Down`), applied
// in version order by cmd/migrate (locally, in CI and as a one-off ECS task before each deploy) and by the test
// helper dbtest.
//
// Numbering: a new migration takes the next number after the highest one here, with no bands or gaps reserved.
// goose refuses to apply a migration numbered below the newest one a database has applied (unless out-of-order
// is allowed, which we do not: provider_options.go, WithAllowOutofOrder, in github.com/pressly/goose/v3), so a
// number slotted into an old band would stop every deployed environment's migration. A new service adds one
// migration: its schema, role, grants and, if it publishes or consumes, its outbox and inbox.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var files embed.FS

// FS returns the migration files.
func FS() fs.FS { return files }

// Service roles: the PostgreSQL role each service connects as (its database_user in infra/services.yaml). The
// migrations create them with LOGIN and no password; on AWS they authenticate with IAM tokens, locally
// cmd/migrate gives them a password.
const (
	OrdersRole      = "orders_api"
	FulfillmentRole = "fulfillment_worker"
)

// ServiceRoles returns the roles the migrations create for the services.
func ServiceRoles() []string { return []string{OrdersRole, FulfillmentRole} }
