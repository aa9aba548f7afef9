package stacks

import (
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/database"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/network"
)

// TestConfigTranslatesToConstructProps checks that every value infra/config accepts translates into one the
// constructs accept: a VPC endpoint or PostgreSQL version added to config alone would otherwise pass config's
// validation and fail synthesis only in the first environment that uses it.
func TestConfigTranslatesToConstructProps(t *testing.T) {
	for _, e := range endpoints(config.Endpoints) {
		if !slices.Contains(network.Endpoints, e) {
			t.Errorf("config accepts endpoint %q; network.Endpoints = %q lacks it", e, network.Endpoints)
		}
	}
	for _, v := range config.PostgresMajorVersions {
		if !slices.Contains(database.EngineVersions, v) {
			t.Errorf("config accepts PostgreSQL %s; database.EngineVersions = %q lacks it", v, database.EngineVersions)
		}
	}
	removals := map[config.RemovalPolicy]awscdk.RemovalPolicy{
		config.RemovalSnapshot: awscdk.RemovalPolicy_SNAPSHOT,
		config.RemovalRetain:   awscdk.RemovalPolicy_RETAIN,
		config.RemovalDestroy:  awscdk.RemovalPolicy_DESTROY,
	}
	for in, want := range removals {
		if got := databaseRemoval(in); got != want {
			t.Errorf("databaseRemoval(%q) = %q; want %q", in, got, want)
		}
	}
}
