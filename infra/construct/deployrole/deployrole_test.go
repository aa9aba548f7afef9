package deployrole_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/deployrole"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/constructtest"
)

func TestMain(m *testing.M) { constructtest.Main(m) }

func TestRole(t *testing.T) {
	tests := []struct {
		name      string
		migration bool
		push      bool
		want      []string // substrings of the role's policy
		wantNot   []string
	}{
		{
			name: "diff", want: []string{`:role/cdk-hnb659fds-lookup-role-`},
			wantNot: []string{"ecr:", "ecs:", "iam:PassRole", "deploy-role"},
		},
		{
			name: "deploy", migration: true, push: true,
			want: []string{
				`"ecs:RunTask"`, `":task-definition/ecsr-averylongname1-migrate:*"`, `"ArnEquals":{"ecs:cluster"`,
				`":cluster/ecsr-averylongname1"`, `":task/ecsr-averylongname1/*"`,
				`"iam:PassedToService":"ecs-tasks.amazonaws.com"`, `":role/ecsr/averylongname1/migration/*"`,
				`":stack/stk/*"`, `"ecr:PutImage"`, `:role/cdk-hnb659fds-deploy-role-`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stack := constructtest.NewStack(t, "test", "eu-west-1")
			provider := awsiam.OidcProviderNative_FromOidcProviderArn(stack, jsii.String("Provider"),
				jsii.String("arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"))
			props := deployrole.Props{
				Provider: provider, Subject: "repo:o/r:environment:dev", Description: "test",
				Regions: []string{"eu-west-1", "us-east-1"}, BootstrapRoles: []string{deployrole.BootstrapLookup},
			}
			if tc.migration {
				props.BootstrapRoles = append(props.BootstrapRoles, deployrole.BootstrapDeploy)
				// A 15-character environment name: nothing in the grants depends on how CloudFormation shortens
				// generated names.
				props.Migration = &deployrole.Migration{Region: "eu-west-1", Stack: "stk", Family: "ecsr-averylongname1-migrate",
					Cluster: "ecsr-averylongname1", RolePath: "/ecsr/averylongname1/migration/"}
			}
			if tc.push {
				props.PushTo = awsecr.NewRepository(stack, jsii.String("Repo"), &awsecr.RepositoryProps{
					ImageTagMutability: awsecr.TagMutability_IMMUTABLE, ImageScanOnPush: jsii.Bool(true),
				})
			}
			deployrole.New(stack, "Role", props)
			if got := constructtest.NagFindings(t, stack); len(got) > 0 {
				t.Errorf("unsuppressed cdk-nag findings:\n%s", strings.Join(got, "\n"))
			}
			tpl := constructtest.TemplateOf(stack)
			role := tpl.Only(t, "AWS::IAM::Role")
			trust := constructtest.JSON(role["AssumeRolePolicyDocument"])
			for _, want := range []string{
				`"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"`,
				`"token.actions.githubusercontent.com:sub":"repo:o/r:environment:dev"`,
				`"Federated":"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"`,
			} {
				if !strings.Contains(trust, want) {
					t.Errorf("trust policy = %s; want %s", trust, want)
				}
			}
			policy := constructtest.JSON(tpl.Only(t, "AWS::IAM::Policy"))
			for _, want := range tc.want {
				if !strings.Contains(policy, want) {
					t.Errorf("policy lacks %s:\n%s", want, policy)
				}
			}
			for _, not := range tc.wantNot {
				if strings.Contains(policy, not) {
					t.Errorf("policy holds %s:\n%s", not, policy)
				}
			}
		})
	}
}
