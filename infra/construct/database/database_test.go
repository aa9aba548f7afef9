package database_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/database"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/constructtest"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/network"
)

func TestMain(m *testing.M) { constructtest.Main(m) }

// TestAllowFromPeerStack opens the database to security groups of another stack, as the stateless stack does:
// every rule must land in the peer's stack, so the peer's stack depends on the database's and not the reverse.
func TestAllowFromPeerStack(t *testing.T) {
	tests := []struct {
		name       string
		proxy      bool
		wantTarget string // the security group the services' rule opens
	}{
		{"instance", false, "SecurityGroup"},
		{"proxy", true, "ProxySecurityGroup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbStack := constructtest.NewStack(t, "stateful", "eu-west-1")
			logKey := awskms.NewKey(dbStack, jsii.String("LogKey"), &awskms.KeyProps{EnableKeyRotation: jsii.Bool(true)})
			vpc := network.New(dbStack, "Network", network.Props{
				CIDR: "10.0.0.0/16", Zones: []string{"eu-west-1a", "eu-west-1b"}, NATGateways: 1,
				LogKey: logKey, LogRetention: awslogs.RetentionDays_ONE_WEEK,
			}).Vpc
			db := database.New(dbStack, "Database", database.Props{
				Identifier: "ecsr-test",
				Settings: database.Settings{
					EngineVersion: "18", InstanceClass: "t4g.micro", Name: "orders", BackupRetentionDays: 1,
					AllocatedStorageGiB: 20, MaxAllocatedStorageGiB: 50, RDSProxy: tt.proxy, PerformanceInsights: tt.proxy,
				},
				Removal:      awscdk.RemovalPolicy_DESTROY,
				Vpc:          vpc,
				Thresholds:   database.Thresholds{CPUPercent: 80, FreeStorageGiB: 1, Connections: 50},
				AlarmTopic:   awssns.NewTopic(dbStack, jsii.String("Alarms"), nil),
				LogKey:       logKey,
				LogRetention: awslogs.RetentionDays_ONE_WEEK,
			})

			peerStack := awscdk.NewStack(dbStack.Node().Scope().(awscdk.App), jsii.String("stateless"), &awscdk.StackProps{
				Env: &awscdk.Environment{Region: jsii.String("eu-west-1")},
			})
			service := awsec2.NewSecurityGroup(peerStack, jsii.String("Service"), &awsec2.SecurityGroupProps{Vpc: vpc, AllowAllOutbound: jsii.Bool(false)})
			migration := awsec2.NewSecurityGroup(peerStack, jsii.String("Migration"), &awsec2.SecurityGroupProps{Vpc: vpc, AllowAllOutbound: jsii.Bool(false)})
			db.AllowFrom(service, "service api")
			db.AllowDirectFrom(migration, "migration task")

			dbTpl := constructtest.TemplateOf(dbStack)
			peerTpl := constructtest.TemplateOf(peerStack)
			for id, r := range dbTpl.Resources("AWS::EC2::SecurityGroupIngress") {
				if strings.Contains(constructtest.JSON(r), "Fn::ImportValue") {
					t.Errorf("database stack rule %s refers to the peer's stack: %s", id, constructtest.JSON(r))
				}
			}
			for _, dep := range *dbStack.Dependencies() {
				if *dep.StackName() == *peerStack.StackName() {
					t.Errorf("the database stack depends on the peer's stack: a dependency cycle with the peer's imports")
				}
			}

			wantTarget := map[string]string{"service api": tt.wantTarget, "migration task": "SecurityGroup"}
			got := map[string]string{}
			for _, r := range peerTpl.Resources("AWS::EC2::SecurityGroupIngress") {
				p := constructtest.Props(r)
				if p["FromPort"] != 5432.0 || p["ToPort"] != 5432.0 {
					t.Errorf("ingress %s; want port 5432 only", constructtest.JSON(p))
				}
				group := constructtest.JSON(p["GroupId"])
				if !strings.Contains(group, "Fn::ImportValue") {
					t.Errorf("ingress on %s; want a database security group imported from the database's stack", group)
				}
				target := "SecurityGroup"
				if strings.Contains(group, "DatabaseProxySecurityGroup") {
					target = "ProxySecurityGroup"
				}
				got[p["Description"].(string)] = target
			}
			if constructtest.JSON(got) != constructtest.JSON(wantTarget) {
				t.Errorf("ingress rules in the peer's stack = %v; want %v", got, wantTarget)
			}
			egress := 0
			for _, r := range peerTpl.Resources("AWS::EC2::SecurityGroupEgress") {
				if constructtest.Props(r)["FromPort"] == 5432.0 {
					egress++
				}
			}
			if egress != 2 {
				t.Errorf("egress rules to the database = %d; want 2 (service and migration task)", egress)
			}
			if tt.proxy {
				checkProxy(t, dbTpl)
			}
		})
	}
}

// checkProxy checks the proxy's name (unique per account and region, so it carries the instance identifier), that
// the proxy and the instance are connected by exactly one rule each way (CDK's own; a second rule of ours on the
// same port would duplicate it), and Database Insights in Standard mode with Performance Insights.
func checkProxy(t *testing.T, tpl constructtest.Template) {
	t.Helper()
	proxy := tpl.Only(t, "AWS::RDS::DBProxy")
	if proxy["DBProxyName"] != "ecsr-test" {
		t.Errorf("DBProxyName = %v; want ecsr-test (the environment's instance identifier)", proxy["DBProxyName"])
	}
	rules := map[string]int{}
	for _, typ := range []string{"AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"} {
		for _, r := range tpl.Resources(typ) {
			p := constructtest.Props(r)
			peer := p["SourceSecurityGroupId"]
			if peer == nil {
				peer = p["DestinationSecurityGroupId"]
			}
			rules[constructtest.JSON([]any{typ, p["GroupId"], peer, p["IpProtocol"], p["FromPort"], p["ToPort"]})]++
		}
	}
	ingress, egress := 0, 0
	for key, n := range rules {
		if n > 1 {
			t.Errorf("%d identical security group rules %s", n, key)
		}
		if strings.Contains(key, "Ingress") && strings.Contains(key, "ProxySecurityGroup") {
			ingress += n
		}
		if strings.Contains(key, "Egress") && strings.Contains(key, "ProxySecurityGroup") {
			egress += n
		}
	}
	if ingress != 1 || egress != 1 {
		t.Errorf("proxy to instance rules: %d ingress, %d egress; want one each\n%v", ingress, egress, rules)
	}
	instance := tpl.Only(t, "AWS::RDS::DBInstance")
	if instance["DatabaseInsightsMode"] != "standard" && instance["DatabaseInsightsMode"] != "STANDARD" {
		t.Errorf("DatabaseInsightsMode = %v; want standard", instance["DatabaseInsightsMode"])
	}
}

// Validate names every field it rejects, all at once, so a construct used with values the environment files
// never produce fails at synthesis with the reason rather than at deploy.
func TestValidateNamesEveryBadField(t *testing.T) {
	err := database.Props{
		Identifier: "1-bad--id-",
		Settings: database.Settings{EngineVersion: "14", InstanceClass: "db.t4g.micro", Name: "orders-db",
			BackupRetentionDays: 0, AllocatedStorageGiB: 10, MaxAllocatedStorageGiB: 10},
		Removal:    awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
		Thresholds: database.Thresholds{CPUPercent: 101, FreeStorageGiB: 20, Connections: 0},
	}.Validate()
	if err == nil {
		t.Fatal("Validate() = nil; want every problem")
	}
	for _, want := range []string{"Identifier", "EngineVersion", "InstanceClass", "Settings.Name", "BackupRetentionDays",
		"AllocatedStorageGiB 10", "MaxAllocatedStorageGiB", "Removal", "Vpc and AlarmTopic", "CPUPercent", "FreeStorageGiB", "Connections"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v\nwant it to name %s", err, want)
		}
	}
}
