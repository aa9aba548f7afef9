package migration_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/constructtest"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/migration"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/service"
)

func TestMain(m *testing.M) { constructtest.Main(m) }

func TestMigrationTask(t *testing.T) {
	stack := constructtest.NewStack(t, "test", "eu-west-1")
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{MaxAzs: jsii.Number(2), NatGateways: jsii.Number(1)})
	constructtest.Suppress(vpc, "AwsSolutions-VPC7", "test fixture VPC without flow logs")
	key := awskms.NewKey(stack, jsii.String("Key"), &awskms.KeyProps{EnableKeyRotation: jsii.Bool(true)})
	dbSG := awsec2.NewSecurityGroup(stack, jsii.String("Database"), &awsec2.SecurityGroupProps{Vpc: vpc})
	cluster := service.NewCluster(stack, "Cluster", service.ClusterProps{Vpc: vpc})
	migration.New(stack, "Migration", migration.Props{
		Cluster: cluster, Vpc: vpc, Image: awsecs.ContainerImage_FromRegistry(jsii.String("example/app:1"), nil),
		Family: "ecsr-dev-migrate", RolePath: "/ecsr/dev/migration/",
		Host: "db.example.internal", Port: "5432", Name: "orders", CAFile: service.CAFile,
		MasterSecretArn: jsii.String("arn:aws:secretsmanager:eu-west-1:111111111111:secret:master-AbCdEf"),
		MasterSecretKey: key,
		AllowFrom: func(p awsec2.IConnectable) {
			p.Connections().AllowTo(dbSG, awsec2.Port_Tcp(jsii.Number(5432)), jsii.String("migration"))
		},
		LogRetention: awslogs.RetentionDays_ONE_MONTH,
	})
	if got := constructtest.NagFindings(t, stack); len(got) > 0 {
		t.Errorf("unsuppressed cdk-nag findings:\n%s", strings.Join(got, "\n"))
	}
	tpl := constructtest.TemplateOf(stack)

	td := tpl.Only(t, "AWS::ECS::TaskDefinition")
	c := td["ContainerDefinitions"].([]any)[0].(map[string]any)
	if got := constructtest.JSON(c["EntryPoint"]); got != `["/app/ecsr","migrate"]` || c["Command"] != nil {
		t.Errorf("entry point = %s, command = %v; want only the entry point /app/ecsr migrate", got, c["Command"])
	}
	secrets := map[string]string{}
	for _, s := range c["Secrets"].([]any) {
		s := s.(map[string]any)
		secrets[s["Name"].(string)] = constructtest.JSON(s["ValueFrom"])
	}
	for name, field := range map[string]string{"DATABASE_USER": ":username::", "DATABASE_PASSWORD": ":password::"} {
		if !strings.Contains(secrets[name], "secret:master-AbCdEf"+field) {
			t.Errorf("secret %s from %q; want the master secret's %s field", name, secrets[name], field)
		}
	}
	for _, e := range c["Environment"].([]any) {
		if name := e.(map[string]any)["Name"].(string); strings.Contains(name, "PASSWORD") || name == "DATABASE_USER" {
			t.Errorf("%s is a plain variable; it must come from Secrets Manager", name)
		}
	}
	if td["Family"] != "ecsr-dev-migrate" {
		t.Errorf("family = %v; want ecsr-dev-migrate", td["Family"])
	}
	// Both roles the task definition names carry the path the deploy role's iam:PassRole is granted on.
	roles := tpl.Resources("AWS::IAM::Role")
	if len(roles) != 2 {
		t.Errorf("%d roles; want the task role and the execution role", len(roles))
	}
	for id, r := range roles {
		if path := r["Properties"].(map[string]any)["Path"]; path != "/ecsr/dev/migration/" {
			t.Errorf("role %s path = %v; want /ecsr/dev/migration/", id, path)
		}
		if ref := `"Fn::GetAtt":["` + id + `","Arn"]`; !strings.Contains(constructtest.JSON(td), ref) {
			t.Errorf("task definition does not use role %s", id)
		}
	}
	if got := constructtest.JSON(td["RuntimePlatform"]); !strings.Contains(got, "ARM64") {
		t.Errorf("runtime platform = %s; want ARM64", got)
	}

	policies := constructtest.JSON(tpl.Resources("AWS::IAM::Policy"))
	for _, want := range []string{"secretsmanager:GetSecretValue", `"kms:ViaService":"secretsmanager.eu-west-1.amazonaws.com"`} {
		if !strings.Contains(policies, want) {
			t.Errorf("execution role policies lack %s", want)
		}
	}
	outputs := tpl["Outputs"].(map[string]any)
	for _, name := range []string{"MigrationTaskDefinitionArn", "MigrationClusterName", "MigrationSubnets", "MigrationSecurityGroup", "MigrationLogGroup"} {
		if _, ok := outputs[name]; !ok {
			t.Errorf("output %s missing; the pipeline needs it for run-task", name)
		}
	}
	ingress := constructtest.JSON(tpl.Resources("AWS::EC2::SecurityGroupIngress"))
	if !strings.Contains(ingress, `"FromPort":5432`) {
		t.Errorf("database ingress = %s; want the migration task admitted on 5432", ingress)
	}
}
