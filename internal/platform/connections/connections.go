// Package connections states how many database connections each kind of process opens. The services and the
// migration size their pools from it, and preflight's connection budget (db-connections) checks the same numbers
// against the database instance's max_connections, so the two cannot drift. It has no dependencies, so the
// infrastructure's tests can read it too.
package connections

const (
	// PerServiceTask is the size of each service task's database pool.
	PerServiceTask = 20
	// PerMigration is the number of connections a migration run opens.
	PerMigration = 2
)
