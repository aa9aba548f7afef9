// Package migrations holds the database's SQL migrations, embedded so that the migrate binary carries them and
// needs no files beside it in the image. They are goose migrations (`-- +goose Up` / `-- +goose Down`), applied
// in version order by cmd/migrate (locally, in CI and as a one-off ECS task before each deploy) and by the test
// helper dbtest.
//
// Numbering: 00001-00009 hold the platform's shared structure (schemas, service roles and grants, the outbox and
// inbox tables); each service's own tables start at 00010.
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
