package stacks

import (
	"os"
	"strings"
	"testing"
)

// TestDeployDocsNameTheCode keeps the names the runbook and docs/infrastructure.md give the deploy's resources
// equal to the code's: the CI/CD stacks, the cluster, the migration family and the role paths the deploy role's
// grants rely on.
func TestDeployDocsNameTheCode(t *testing.T) {
	for file, names := range map[string][]string{
		"../../docs/runbook.md": {
			ImagesStackName, PipelineStackName("$ENV"), PipelineStackName("<env>"), "ecsr-$ENV-cluster",
			MigrationFamily("$ENV"), ClusterName("$ENV"), MigrationRolePath("$ENV"), RolePath("<env>"),
		},
		"../../docs/infrastructure.md": {
			ImagesStackName, PipelineStackName("<env>"), "ecsr-<env>-cluster", ClusterName("<env>"),
			MigrationFamily("<env>"), RolePath("<env>"), MigrationRolePath("<env>"),
		},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if !strings.Contains(string(b), "`"+name+"`") {
				t.Errorf("%s does not name `%s`", file, name)
			}
		}
	}
}
