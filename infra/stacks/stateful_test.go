package stacks

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
)

func TestStatefulNetwork(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		tmpl := s.stack(t, "stateful")
		n := s.env.Network
		tmpl.hasResource(t, "AWS::EC2::VPC", map[string]any{"CidrBlock": n.CIDR, "EnableDnsHostnames": true, "EnableDnsSupport": true})
		tmpl.countOf(t, "AWS::EC2::Subnet", 3*n.AZCount)
		tmpl.countOf(t, "AWS::EC2::NatGateway", n.NATGateways)

		zones := map[string]bool{}
		kinds := map[string]int{}
		for _, r := range tmpl.ofType("AWS::EC2::Subnet") {
			zones[fmt.Sprint(r.Properties["AvailabilityZone"])] = true
			for _, tag := range r.Properties["Tags"].([]any) {
				tg := tag.(map[string]any)
				if tg["Key"] == "aws-cdk:subnet-type" {
					kinds[tg["Value"].(string)]++
				}
			}
		}
		if len(zones) != n.AZCount {
			t.Errorf("subnets span %d AZs (%v); want %d", len(zones), zones, n.AZCount)
		}
		for _, kind := range []string{"Public", "Private", "Isolated"} {
			if kinds[kind] != n.AZCount {
				t.Errorf("%s subnets = %d; want one per AZ (%d)", kind, kinds[kind], n.AZCount)
			}
		}

		// Flow logs of all traffic to an encrypted log group with the environment's retention.
		tmpl.hasResource(t, "AWS::EC2::FlowLog", map[string]any{"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"})
		// Its role trusts the flow logs service only for flow logs of this account and region (confused deputy).
		for id, fl := range tmpl.ofType("AWS::EC2::FlowLog") {
			roleID := fl.Properties["DeliverLogsPermissionArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			trust := mustJSON(tmpl.Resources[roleID].Properties["AssumeRolePolicyDocument"])
			for _, want := range []string{
				`"StringEquals":{"aws:SourceAccount":"` + s.env.Account + `"}`,
				`"ArnLike":{"aws:SourceArn":{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":ec2:` + s.env.Region + `:` + s.env.Account + `:vpc-flow-log/*"]]}}`,
				`"Service":"vpc-flow-logs.amazonaws.com"`,
			} {
				if !strings.Contains(trust, want) {
					t.Errorf("flow log %s role %s trust %s lacks %s", id, roleID, trust, want)
				}
			}
		}
		for id, r := range tmpl.ofType("AWS::Logs::LogGroup") {
			if r.Properties["KmsKeyId"] == nil {
				t.Errorf("log group %s is not encrypted with a customer-managed key", id)
			}
			if got := r.Properties["RetentionInDays"]; got != float64(s.env.LogRetentionDays) {
				t.Errorf("log group %s retention = %v; want %d", id, got, s.env.LogRetentionDays)
			}
		}

		// Endpoints exactly as the environment asks: S3 as a gateway, the rest as interfaces with private DNS.
		var gateways, interfaces int
		for id, r := range tmpl.ofType("AWS::EC2::VPCEndpoint") {
			switch r.Properties["VpcEndpointType"] {
			case "Interface":
				interfaces++
				if r.Properties["PrivateDnsEnabled"] != true {
					t.Errorf("interface endpoint %s has no private DNS", id)
				}
			default:
				gateways++
			}
		}
		wantGateways, wantInterfaces := 0, 0
		for _, e := range n.Endpoints {
			switch e {
			case config.EndpointS3:
				wantGateways++
			case config.EndpointECR:
				wantInterfaces += 2 // api and dkr
			default:
				wantInterfaces++
			}
		}
		if gateways != wantGateways || interfaces != wantInterfaces {
			t.Errorf("endpoints: %d gateway, %d interface; want %d and %d for %v", gateways, interfaces, wantGateways, wantInterfaces, n.Endpoints)
		}
	})
}

func TestStatefulDatabase(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		tmpl := s.stack(t, "stateful")
		d := s.env.Database
		tmpl.countOf(t, "AWS::RDS::DBInstance", 1)
		tmpl.hasResource(t, "AWS::RDS::DBInstance", map[string]any{
			"Engine":                          "postgres",
			"EngineVersion":                   d.EngineVersion,
			"DBInstanceClass":                 "db." + d.InstanceClass,
			"StorageEncrypted":                true,
			"StorageType":                     "gp3",
			"MultiAZ":                         d.MultiAZ,
			"DeletionProtection":              d.DeletionProtection,
			"BackupRetentionPeriod":           d.BackupRetentionDays,
			"EnableIAMDatabaseAuthentication": true,
			"ManageMasterUserPassword":        true,
			"AutoMinorVersionUpgrade":         true,
			"AllowMajorVersionUpgrade":        false,
			"PubliclyAccessible":              false,
			"EnableCloudwatchLogsExports":     []any{"postgresql", "upgrade", "iam-db-auth-error"},
			"DBName":                          d.Name,
			"Port":                            "5432",
		})
		for id, r := range tmpl.ofType("AWS::RDS::DBInstance") {
			p := r.Properties
			for _, k := range []string{"KmsKeyId"} {
				if !refersTo(p[k], tmpl, "AWS::KMS::Key") {
					t.Errorf("%s.%s = %v; want a customer-managed key of the stack", id, k, p[k])
				}
			}
			secret, _ := p["MasterUserSecret"].(map[string]any)
			if !refersTo(secret["KmsKeyId"], tmpl, "AWS::KMS::Key") {
				t.Errorf("%s.MasterUserSecret = %v; want it encrypted with the database key", id, secret)
			}
			if got := p["EnablePerformanceInsights"] == true; got != d.PerformanceInsights {
				t.Errorf("%s Performance Insights = %v; want %v", id, got, d.PerformanceInsights)
			}
			if d.PerformanceInsights && !refersTo(p["PerformanceInsightsKMSKeyId"], tmpl, "AWS::KMS::Key") {
				t.Errorf("%s Performance Insights is not encrypted with the database key", id)
			}
			wantPolicy := map[config.RemovalPolicy]string{config.RemovalSnapshot: "Snapshot", config.RemovalRetain: "Retain", config.RemovalDestroy: "Delete"}[s.env.Removal.Database]
			if r.DeletionPolicy != wantPolicy {
				t.Errorf("%s DeletionPolicy = %q; want %q", id, r.DeletionPolicy, wantPolicy)
			}
		}
		tmpl.hasResource(t, "AWS::RDS::DBParameterGroup", map[string]any{
			"Family":     "postgres" + d.EngineVersion,
			"Parameters": map[string]any{"rds.force_ssl": "1"},
		})
		// The subnet group holds the isolated subnets only.
		for id, r := range tmpl.ofType("AWS::RDS::DBSubnetGroup") {
			for _, sn := range r.Properties["SubnetIds"].([]any) {
				if !strings.Contains(fmt.Sprint(sn), "isolatedSubnet") {
					t.Errorf("subnet group %s holds %v; want isolated subnets only", id, sn)
				}
			}
		}
		// The database's security group admits nobody but the proxy from within this stack (the services' rules
		// live in the stateless stack) and sends nothing.
		sg := tmpl.securityGroupOf(t, "AWS::RDS::DBInstance")
		if rules := sg.Properties["SecurityGroupIngress"]; rules != nil {
			t.Errorf("database security group has inline ingress %v; want none", rules)
		}
		for id, r := range tmpl.ofType("AWS::EC2::SecurityGroupIngress") {
			if strings.Contains(fmt.Sprint(r.Properties["GroupId"]), "DatabaseSecurityGroup") &&
				!strings.Contains(fmt.Sprint(r.Properties["SourceSecurityGroupId"]), "DatabaseProxySecurityGroup") {
				t.Errorf("database ingress %s from %v; want only the proxy in this stack", id, r.Properties["SourceSecurityGroupId"])
			}
		}
		proxies := tmpl.ofType("AWS::RDS::DBProxy")
		if got := len(proxies) == 1; got != d.RDSProxy {
			t.Errorf("RDS Proxy present = %v; want %v", got, d.RDSProxy)
		}
		if d.RDSProxy {
			tmpl.hasResource(t, "AWS::RDS::DBProxy", map[string]any{"RequireTLS": true, "EngineFamily": "POSTGRESQL", "DefaultAuthScheme": "IAM_AUTH"})
			// With IAM authentication end to end, the proxy connects to the instance as each service's user.
			roleID := tmpl.logicalID(t, s.stacks.Stateful.Database.ProxyRole.Node().DefaultChild())
			var policies string
			for _, r := range tmpl.ofType("AWS::IAM::Policy") {
				if strings.Contains(mustJSON(r.Properties["Roles"]), `"`+roleID+`"`) {
					policies += mustJSON(r.Properties["PolicyDocument"])
				}
			}
			for _, svc := range s.manifest.Services {
				if svc.DatabaseUser == "" {
					continue // a service without database_user has no database
				}
				if !strings.Contains(policies, `"rds-db:connect"`) || !strings.Contains(policies, `DbiResourceId"]},"/`+svc.DatabaseUser+`"`) {
					t.Errorf("the proxy's role may not connect to the instance as %s: %s", svc.DatabaseUser, policies)
				}
			}
		}
		// Every exported log has its own log group, created (encrypted, with retention) before the instance.
		instance := tmpl.ofType("AWS::RDS::DBInstance")
		for id, r := range instance {
			if got := mustJSON(r.Properties["EnableCloudwatchLogsExports"]); got != `["postgresql","upgrade","iam-db-auth-error"]` {
				t.Errorf("%s EnableCloudwatchLogsExports = %s; want postgresql, upgrade and iam-db-auth-error", id, got)
			}
			for _, name := range []string{"postgresql", "upgrade", "iam-db-auth-error"} {
				found := false
				for lgID, lg := range tmpl.ofType("AWS::Logs::LogGroup") {
					if lg.Properties["LogGroupName"] != "/aws/rds/instance/ecsr-"+s.env.Name+"/"+name {
						continue
					}
					found = true
					if lg.Properties["KmsKeyId"] == nil || lg.Properties["RetentionInDays"] == nil {
						t.Errorf("log group %s of %s has no key or no retention", lgID, name)
					}
					if !strings.Contains(mustJSON(r.DependsOn), `"`+lgID+`"`) {
						t.Errorf("the instance does not depend on the %s log group %s: RDS could create it first", name, lgID)
					}
				}
				if !found {
					t.Errorf("no log group /aws/rds/instance/ecsr-%s/%s", s.env.Name, name)
				}
			}
		}
		// Slow statements are logged without their bind parameters (customer data).
		tmpl.hasResource(t, "AWS::RDS::DBParameterGroup", map[string]any{
			"Parameters": map[string]any{"log_min_duration_statement": "1000", "log_parameter_max_length": "0"},
		})
	})
}

// TestExportedSecurityGroupDescriptions pins the descriptions of the security groups the stateful stack exports
// to the stateless stack. GroupDescription is replace-only and an imported export cannot change, so a new text
// would fail the stateful stack's update: these strings must never change once deployed.
func TestExportedSecurityGroupDescriptions(t *testing.T) {
	want := map[string]string{
		"DatabaseSecurityGroup5C91FDCB":      "PostgreSQL instance",
		"DatabaseProxySecurityGroupCCC9DB86": "RDS Proxy",
	}
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		tmpl := s.stack(t, "stateful")
		exported := 0
		for _, o := range tmpl.Outputs {
			out, _ := o.(map[string]any)
			if out["Export"] == nil || !strings.Contains(mustJSON(out["Value"]), "GroupId") {
				continue
			}
			exported++
			id := out["Value"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			desc, ok := want[id]
			if !ok {
				t.Errorf("security group %s is exported but its description is not pinned here", id)
				continue
			}
			if got := tmpl.Resources[id].Properties["GroupDescription"]; got != desc {
				t.Errorf("%s GroupDescription = %q; want %q (replace-only, and exported)", id, got, desc)
			}
		}
		if want := map[bool]int{false: 1, true: 2}[s.env.Database.RDSProxy]; exported != want {
			t.Errorf("exported security groups = %d; want %d", exported, want)
		}
	})
}

// TestProxyObservability: with RDS Proxy the services' logins go through it, so its refused logins alarm and its
// connections and borrow latency are on the dashboard (AWS/RDS, dimension ProxyName).
func TestProxyObservability(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		if !s.env.Database.RDSProxy {
			return
		}
		tmpl := s.stack(t, "stateful")
		tmpl.hasResource(t, "AWS::CloudWatch::Alarm", map[string]any{
			"Namespace": "AWS/RDS", "MetricName": "ClientConnectionsSetupFailedAuth", "Statistic": "Sum",
			// A DBProxy's Ref is its name.
			"Dimensions": []any{map[string]any{"Name": "ProxyName", "Value": ref(tmpl.logicalID(t, s.stacks.Stateful.Database.Proxy.Node().DefaultChild()))}},
		})
		var body string
		for _, other := range s.templates {
			for _, r := range other.ofType("AWS::CloudWatch::Dashboard") {
				body += mustJSON(r.Properties["DashboardBody"])
			}
		}
		for _, m := range []string{"ClientConnections", "DatabaseConnectionsBorrowLatency", "ClientConnectionsSetupFailedAuth", "ProxyName"} {
			if !strings.Contains(body, m) {
				t.Errorf("dashboard lacks the proxy's %s", m)
			}
		}
	})
}

func TestStatefulKeys(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		tmpl := s.stack(t, "stateful")
		keys := tmpl.ofType("AWS::KMS::Key")
		if len(keys) != 3 {
			t.Errorf("keys = %d; want 3 (observability, messaging, database)", len(keys))
		}
		for id, r := range keys {
			if r.Properties["EnableKeyRotation"] != true {
				t.Errorf("key %s has rotation off", id)
			}
			want := map[config.RemovalPolicy]string{config.RemovalRetain: "Retain", config.RemovalDestroy: "Delete"}[s.env.Removal.Data]
			if r.DeletionPolicy != want {
				t.Errorf("key %s DeletionPolicy = %q; want %q", id, r.DeletionPolicy, want)
			}
		}
		// SNS may use the messaging key to encrypt what it delivers to the queues.
		if !tmpl.keyPolicyAllows(t, "Messaging", "sns.amazonaws.com", "kms:GenerateDataKey") {
			t.Error("messaging key policy does not let SNS generate data keys")
		}
		if !tmpl.keyPolicyAllows(t, "Observability", "cloudwatch.amazonaws.com", "kms:GenerateDataKey") {
			t.Error("observability key policy does not let CloudWatch alarms publish to the encrypted alarm topic")
		}
		if !tmpl.keyPolicyAllows(t, "Observability", "logs."+s.env.Region+".amazonaws.com", "kms:Encrypt") {
			t.Error("observability key policy does not let CloudWatch Logs encrypt log groups")
		}
	})
}

func TestStatefulMessaging(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		tmpl := s.stack(t, "stateful")
		m := s.manifest
		tmpl.countOf(t, "AWS::SNS::Topic", len(m.Topics)+1) // and the alarm topic
		for id, r := range tmpl.ofType("AWS::SNS::Topic") {
			if !refersTo(r.Properties["KmsMasterKeyId"], tmpl, "AWS::KMS::Key") {
				t.Errorf("topic %s is not encrypted with a customer-managed key", id)
			}
		}
		queues := 0 // each queue, its dead-letter queue, and the undelivered queue of one fed by topics
		for _, q := range m.Queues {
			queues += 2
			if len(q.Subscriptions) > 0 {
				queues++
			}
		}
		tmpl.countOf(t, "AWS::SQS::Queue", queues)
		msg := s.stacks.Stateful.Messaging
		for _, q := range m.Queues {
			queue := tmpl.Resources[tmpl.logicalID(t, msg.Queues[q.Name].Node().DefaultChild())]
			dlq := tmpl.Resources[tmpl.logicalID(t, msg.DeadLetterQueues[q.Name].Node().DefaultChild())]
			if got := queue.Properties["MessageRetentionPeriod"]; got != float64(q.RetentionSeconds) {
				t.Errorf("%s retention = %v; want %d", q.Name, got, q.RetentionSeconds)
			}
			if got := queue.Properties["VisibilityTimeout"]; got != float64(q.VisibilityTimeoutSeconds) {
				t.Errorf("%s visibility timeout = %v; want %d", q.Name, got, q.VisibilityTimeoutSeconds)
			}
			dlqRetention, _ := dlq.Properties["MessageRetentionPeriod"].(float64)
			if dlqRetention != 14*24*3600 || int(dlqRetention) <= q.RetentionSeconds {
				t.Errorf("%s dead-letter retention = %v; want 14 days, longer than the source's %d s", q.Name, dlqRetention, q.RetentionSeconds)
			}
			redrive, _ := queue.Properties["RedrivePolicy"].(map[string]any)
			if redrive["maxReceiveCount"] != float64(q.MaxReceiveCount) {
				t.Errorf("%s redrive = %v; want maxReceiveCount %d", q.Name, redrive, q.MaxReceiveCount)
			}
			if fifo := queue.Properties["FifoQueue"] == true; fifo != q.FIFO || (dlq.Properties["FifoQueue"] == true) != q.FIFO {
				t.Errorf("%s FifoQueue = %v, its dead-letter queue's %v; want both %v", q.Name, queue.Properties["FifoQueue"],
					dlq.Properties["FifoQueue"], q.FIFO)
			}
			for _, r := range []resource{queue, dlq} {
				if !refersTo(r.Properties["KmsMasterKeyId"], tmpl, "AWS::KMS::Key") {
					t.Errorf("%s queue %v is not encrypted with a customer-managed key", q.Name, r.Properties["KmsMasterKeyId"])
				}
			}
			if len(q.Subscriptions) == 0 { // a direct queue: nothing for SNS to fail to deliver
				continue
			}
			// What SNS cannot deliver is kept, not dropped: every subscription to the queue redrives to its
			// undelivered queue.
			undeliveredID := tmpl.logicalID(t, msg.UndeliveredQueues[q.Name].Node().DefaultChild())
			for id, sub := range tmpl.ofType("AWS::SNS::Subscription") {
				if !strings.Contains(mustJSON(sub.Properties["Endpoint"]), tmpl.logicalID(t, msg.Queues[q.Name].Node().DefaultChild())) {
					continue
				}
				if got := mustJSON(sub.Properties["RedrivePolicy"]); !strings.Contains(got, `"deadLetterTargetArn":{"Fn::GetAtt":["`+undeliveredID+`","Arn"]}`) {
					t.Errorf("subscription %s redrive = %s; want its queue's undelivered queue %s", id, got, undeliveredID)
				}
			}
			for _, r := range []resource{tmpl.Resources[undeliveredID]} {
				if !refersTo(r.Properties["KmsMasterKeyId"], tmpl, "AWS::KMS::Key") {
					t.Errorf("%s queue %v is not encrypted with a customer-managed key", q.Name, r.Properties["KmsMasterKeyId"])
				}
			}
		}
		// Every queue and topic refuses requests without TLS.
		for _, typ := range []string{"AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"} {
			for id, r := range tmpl.ofType(typ) {
				if !strings.Contains(mustJSON(r.Properties["PolicyDocument"]), `"Bool":{"aws:SecureTransport":"false"}`) {
					t.Errorf("%s %s does not deny requests without TLS", typ, id)
				}
			}
		}
		tmpl.countOf(t, "AWS::SQS::QueuePolicy", queues)
		tmpl.countOf(t, "AWS::SNS::TopicPolicy", len(m.Topics)+1)
	})
}

// TestStatefulSubscriptions checks that every subscription of the manifest exists exactly as declared.
func TestStatefulSubscriptions(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		tmpl := s.stack(t, "stateful")
		msg := s.stacks.Stateful.Messaging
		var got []string
		for _, r := range tmpl.ofType("AWS::SNS::Subscription") {
			if r.Properties["Protocol"] != "sqs" {
				continue
			}
			got = append(got, mustJSON(map[string]any{
				"topic": r.Properties["TopicArn"], "queue": r.Properties["Endpoint"], "raw": r.Properties["RawMessageDelivery"],
				"filter": r.Properties["FilterPolicy"], "scope": r.Properties["FilterPolicyScope"],
			}))
		}
		var want []string
		for _, q := range s.manifest.Queues {
			for _, sub := range q.Subscriptions {
				w := map[string]any{
					"topic": ref(tmpl.logicalID(t, msg.Topics[sub.Topic].Node().DefaultChild())),
					"queue": map[string]any{"Fn::GetAtt": []any{tmpl.logicalID(t, msg.Queues[q.Name].Node().DefaultChild()), "Arn"}},
					"raw":   sub.RawMessageDelivery, "filter": nil, "scope": nil,
				}
				if len(sub.FilterPolicy) > 0 {
					w["filter"], w["scope"] = sub.FilterPolicy, sub.FilterPolicyScope
				}
				want = append(want, mustJSON(w))
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("subscriptions:\n got %v\nwant %v", got, want)
		}
		// Only the subscribed topics may send to each queue.
		for _, q := range s.manifest.Queues {
			queueID := tmpl.logicalID(t, msg.Queues[q.Name].Node().DefaultChild())
			for _, r := range tmpl.ofType("AWS::SQS::QueuePolicy") {
				doc := mustJSON(r.Properties)
				if !strings.Contains(doc, `"Queues":[{"Ref":"`+queueID+`"}]`) {
					continue
				}
				for _, sub := range q.Subscriptions {
					topicID := tmpl.logicalID(t, msg.Topics[sub.Topic].Node().DefaultChild())
					if !strings.Contains(doc, `"aws:SourceArn":`) || !strings.Contains(doc, topicID) {
						t.Errorf("queue policy of %s does not admit topic %s by source ARN", q.Name, sub.Topic)
					}
				}
			}
		}
	})
}

func TestStatefulAlarms(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		tmpl := s.stack(t, "stateful")
		topicID := tmpl.logicalID(t, s.stacks.Stateful.Observability.AlarmTopic.Node().DefaultChild())
		alarms := tmpl.ofType("AWS::CloudWatch::Alarm")
		metrics := map[string]int{}
		for id, r := range alarms {
			metrics[fmt.Sprint(r.Properties["MetricName"])]++
			actions := mustJSON(r.Properties["AlarmActions"]) + mustJSON(r.Properties["OKActions"])
			if strings.Count(actions, `"Ref":"`+topicID+`"`) != 2 {
				t.Errorf("alarm %s notifies %s; want the alarm topic on alarm and on OK", id, actions)
			}
		}
		nq, fed := len(s.manifest.Queues), 0 // queues, and those fed by topics
		for _, q := range s.manifest.Queues {
			if len(q.Subscriptions) > 0 {
				fed++
			}
		}
		for metric, want := range map[string]int{
			"ApproximateNumberOfMessagesVisible": nq + fed, // dead-letter depth; undelivered events of queues fed by topics
			"ApproximateAgeOfOldestMessage":      nq,
			"CPUUtilization":                     1,
			"FreeStorageSpace":                   1,
			"DatabaseConnections":                1,
			"ClientConnectionsSetupFailedAuth":   map[bool]int{false: 0, true: 1}[s.env.Database.RDSProxy],
		} {
			if metrics[metric] != want {
				t.Errorf("alarms on %s = %d; want %d", metric, metrics[metric], want)
			}
		}
		tmpl.hasResource(t, "AWS::CloudWatch::Alarm", map[string]any{
			"MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": s.env.Messaging.DLQDepthThreshold,
			"ComparisonOperator": "GreaterThanOrEqualToThreshold",
		})
		tmpl.hasResource(t, "AWS::CloudWatch::Alarm", map[string]any{
			"MetricName": "ApproximateAgeOfOldestMessage", "Threshold": s.env.Messaging.OldestMessageAgeSeconds,
		})
		tmpl.hasResource(t, "AWS::CloudWatch::Alarm", map[string]any{"MetricName": "CPUUtilization", "Threshold": s.env.Alarms.DatabaseCPUPercent})
		tmpl.hasResource(t, "AWS::CloudWatch::Alarm", map[string]any{"MetricName": "DatabaseConnections", "Threshold": s.env.Alarms.DatabaseConnections})
		tmpl.hasResource(t, "AWS::CloudWatch::Alarm", map[string]any{
			"MetricName": "FreeStorageSpace", "Threshold": s.env.Alarms.DatabaseFreeStorageGiB << 30,
			"ComparisonOperator": "LessThanOrEqualToThreshold",
		})
		tmpl.hasResource(t, "AWS::SNS::Topic", map[string]any{}) // the alarm topic exists (checked by ID above)
		emails := 0
		for _, r := range tmpl.ofType("AWS::SNS::Subscription") {
			if r.Properties["Protocol"] == "email" {
				emails++
			}
		}
		if emails != len(s.env.Alarms.Emails) {
			t.Errorf("email subscriptions = %d; want %d", emails, len(s.env.Alarms.Emails))
		}
	})
}

func TestStatefulStackProtection(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		a := s.artifacts[s.env.StackName("stateful")]
		if a.Properties.TerminationProtection != s.env.TerminationProtection {
			t.Errorf("termination protection = %v; want %v", a.Properties.TerminationProtection, s.env.TerminationProtection)
		}
		// Every stack names the environment's own account: a credential of another account cannot deploy it.
		for name, a := range s.artifacts {
			region := s.env.Region
			if strings.HasSuffix(name, "-edge") || strings.HasSuffix(name, "-edge-protection") {
				region = "us-east-1"
			}
			if want := "aws://" + s.env.Account + "/" + region; a.Environment != want {
				t.Errorf("%s stack environment = %q; want %q", name, a.Environment, want)
			}
		}
	})
}

func TestDashboard(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		var found []string
		for name, tmpl := range s.templates {
			for _, r := range tmpl.ofType("AWS::CloudWatch::Dashboard") {
				found = append(found, name)
				body := mustJSON(r.Properties["DashboardBody"])
				wafMetric := "BlockedRequests"
				if s.env.WAF.Mode == config.WAFCount {
					wafMetric = "CountedRequests"
				}
				for _, want := range []string{
					"## Database", "CPUUtilization", "DatabaseConnections", "FreeStorageSpace",
					"## Messaging", "ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible",
					"## Services and edge", "RequestCount", "HTTPCode_Target_5XX_Count", "TargetResponseTime",
					"RunningTaskCount", "DesiredTaskCount", wafMetric, `{\"region\":\"us-east-1\"`,
				} {
					if !strings.Contains(body, want) {
						t.Errorf("dashboard in %s lacks %q", name, want)
					}
				}
			}
		}
		if len(found) != 1 {
			t.Errorf("dashboards in %v; want exactly one per environment", found)
		}
	})
}

// refersTo reports whether v is a Ref or Fn::GetAtt to a resource of typ in the template.
func refersTo(v any, tmpl template, typ string) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	var id string
	switch {
	case m["Ref"] != nil:
		id, _ = m["Ref"].(string)
	case m["Fn::GetAtt"] != nil:
		parts, _ := m["Fn::GetAtt"].([]any)
		if len(parts) > 0 {
			id, _ = parts[0].(string)
		}
	}
	r, ok := tmpl.Resources[id]
	return ok && r.Type == typ
}

// securityGroupOf returns the security group of the single resource of typ.
func (tmpl template) securityGroupOf(t *testing.T, typ string) resource {
	t.Helper()
	for _, r := range tmpl.ofType(typ) {
		groups, _ := r.Properties["VPCSecurityGroups"].([]any)
		if len(groups) != 1 {
			t.Fatalf("%s has security groups %v; want one", typ, groups)
		}
		att := groups[0].(map[string]any)["Fn::GetAtt"].([]any)
		return tmpl.Resources[att[0].(string)]
	}
	t.Fatalf("no %s", typ)
	return resource{}
}

// keyPolicyAllows reports whether the key whose logical ID starts with prefix allows service to perform action.
func (tmpl template) keyPolicyAllows(t *testing.T, prefix, service, action string) bool {
	t.Helper()
	for id, r := range tmpl.ofType("AWS::KMS::Key") {
		if !strings.HasPrefix(id, prefix) {
			continue
		}
		doc := r.Properties["KeyPolicy"].(map[string]any)
		for _, st := range doc["Statement"].([]any) {
			st := st.(map[string]any)
			if st["Effect"] == "Allow" && strings.Contains(mustJSON(st["Principal"]), `"`+service+`"`) &&
				slices.Contains(asStrings(st["Action"]), action) {
				return true
			}
		}
	}
	return false
}

func asStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
