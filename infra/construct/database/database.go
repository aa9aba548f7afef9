// Package database provides the environment's RDS PostgreSQL: current major version in isolated subnets,
// storage, Performance Insights and the master secret encrypted with a customer-managed key, TLS forced by the
// parameter group (rds.force_ssl=1), IAM authentication, a master password generated and rotated by RDS in
// Secrets Manager, log exports to encrypted log groups with retention, an optional RDS Proxy that requires TLS
// and IAM authentication, and alarms on CPU, free storage and connections. Its security groups admit nobody
// until a client is let in with AllowFrom or AllowDirectFrom.
package database

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/encryption"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/network"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/observability"
)

// Port is PostgreSQL's port. It is fixed (not a token) so security group rules and the services' DATABASE_PORT
// can be written at synthesis time.
const Port = 5432

// MasterUser is the master user's name; its password lives only in the RDS-managed secret.
const MasterUser = "postgres"

// logExports are the PostgreSQL logs exported to CloudWatch Logs, each to a log group created here first
// (encrypted, with retention) so RDS does not create it unencrypted and kept forever. The valid values for RDS for
// PostgreSQL are "postgresql | upgrade | iam-db-auth-error" (CreateDBInstance EnableCloudwatchLogsExports,
// https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html); iam-db-auth-error holds
// the IAM database authentication failures, the only login the services use
// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.Troubleshooting.html).
var logExports = []string{"postgresql", "upgrade", "iam-db-auth-error"}

// Security group descriptions. GroupDescription is replace-only ("Update requires: Replacement",
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html) and
// the stateful stack exports these groups' IDs to the stateless stack, which imports them; an export in use cannot
// change (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-stack-exports.html). So the text
// is neutral and the same in every environment, and must never change once deployed (pinned by a test).
const (
	SecurityGroupDescription      = "PostgreSQL instance"
	ProxySecurityGroupDescription = "RDS Proxy"
)

// Props configures the database.
type Props struct {
	// Identifier is the DB instance identifier, e.g. ecsr-prod. It is fixed rather than generated so the
	// exported log groups can be created (encrypted, with retention) before RDS writes to them, and so a change
	// that would replace the database fails instead of silently creating an empty one.
	Identifier string
	// Settings sizes and protects the instance.
	Settings Settings
	// Removal is what deleting the instance from the stack does: SNAPSHOT (a final snapshot), RETAIN or
	// DESTROY (automated backups deleted too).
	Removal awscdk.RemovalPolicy
	// Vpc holds the database in its isolated subnets and the proxy in its private subnets.
	Vpc awsec2.IVpc
	// Thresholds of the database alarms.
	Thresholds Thresholds
	// AlarmTopic receives the alarms.
	AlarmTopic awssns.ITopic
	// LogKey, LogRetention and LogRemoval apply to the exported log groups.
	LogKey       awskms.IKey
	LogRetention awslogs.RetentionDays
	LogRemoval   awscdk.RemovalPolicy
	// KeyRemoval applies to the database's key.
	KeyRemoval awscdk.RemovalPolicy
}

// Settings size and protect the instance.
type Settings struct {
	// EngineVersion is the PostgreSQL major version, one of EngineVersions; minor versions are upgraded
	// automatically.
	EngineVersion string
	// InstanceClass is the instance class without the db. prefix, e.g. t4g.micro or r7g.large.
	InstanceClass string
	// Name is the database created in the instance (DATABASE_NAME of the services).
	Name string
	// MultiAZ keeps a synchronous standby in another zone; DeletionProtection makes RDS refuse to delete the
	// instance.
	MultiAZ, DeletionProtection bool
	// BackupRetentionDays is how long automated backups are kept, 1 to 35.
	BackupRetentionDays int
	// PerformanceInsights turns on Database Insights (Standard) encrypted with the database key.
	PerformanceInsights bool
	// AllocatedStorageGiB is the initial storage; MaxAllocatedStorageGiB the storage autoscaling ceiling.
	AllocatedStorageGiB, MaxAllocatedStorageGiB int
	// RDSProxy puts an RDS Proxy (TLS required, IAM authentication end to end) in front of the instance.
	RDSProxy bool
}

// Thresholds are the database alarms' thresholds.
type Thresholds struct {
	// CPUPercent alarms when the instance's CPU stays at or above it.
	CPUPercent int
	// FreeStorageGiB alarms when free storage falls below it.
	FreeStorageGiB int
	// Connections alarms when the connections reach it.
	Connections int
}

// EngineVersions are the PostgreSQL major versions the construct creates.
var EngineVersions = []string{"16", "17", "18"}

// identifier is an RDS DB instance identifier: 1 to 63 letters, digits or hyphens, beginning with a letter, not
// ending with a hyphen, without two hyphens in a row
// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.Constraints).
var identifier = regexp.MustCompile(`^[a-zA-Z](?:[a-zA-Z0-9]|-[a-zA-Z0-9]){0,62}$`)

// databaseName is a PostgreSQL database name on RDS: 1 to 63 letters, digits or underscores, beginning with a
// letter (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.Constraints).
var databaseName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,62}$`)

// Validate reports every problem of p at once.
func (p Props) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := p.Settings
	if !identifier.MatchString(p.Identifier) {
		bad("Identifier %q is not a DB instance identifier: 1 to 63 letters, digits or single hyphens, beginning "+
			"with a letter and not ending with a hyphen", p.Identifier)
	}
	if !slices.Contains(EngineVersions, s.EngineVersion) {
		bad("Settings.EngineVersion %q must be one of %q", s.EngineVersion, EngineVersions)
	}
	if s.InstanceClass == "" || strings.HasPrefix(s.InstanceClass, "db.") {
		bad("Settings.InstanceClass %q must name an instance class without the db. prefix, such as t4g.micro", s.InstanceClass)
	}
	if !databaseName.MatchString(s.Name) {
		bad("Settings.Name %q must be 1 to 63 letters, digits or underscores, beginning with a letter", s.Name)
	}
	// 0 would turn automated backups off; 35 days is the most RDS keeps
	// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.BackupRetention.html).
	if s.BackupRetentionDays < 1 || s.BackupRetentionDays > 35 {
		bad("Settings.BackupRetentionDays %d must be between 1 and 35", s.BackupRetentionDays)
	}
	// General Purpose SSD storage for RDS for PostgreSQL: 20 GiB to 64 TiB
	// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Storage.html#gp3-storage); the storage
	// autoscaling ceiling must be at least 10% above the allocated storage
	// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html).
	if s.AllocatedStorageGiB < 20 || s.AllocatedStorageGiB > 65536 {
		bad("Settings.AllocatedStorageGiB %d must be between 20 and 65536", s.AllocatedStorageGiB)
	}
	if s.MaxAllocatedStorageGiB*10 < s.AllocatedStorageGiB*11 || s.MaxAllocatedStorageGiB > 65536 {
		bad("Settings.MaxAllocatedStorageGiB %d must be at least 10%% above AllocatedStorageGiB %d and at most 65536",
			s.MaxAllocatedStorageGiB, s.AllocatedStorageGiB)
	}
	if p.Removal != awscdk.RemovalPolicy_SNAPSHOT && p.Removal != awscdk.RemovalPolicy_RETAIN && p.Removal != awscdk.RemovalPolicy_DESTROY {
		bad("Removal %q must be SNAPSHOT, RETAIN or DESTROY", p.Removal)
	}
	if p.Vpc == nil || p.AlarmTopic == nil {
		bad("Vpc and AlarmTopic are required")
	}
	t := p.Thresholds
	if t.CPUPercent < 1 || t.CPUPercent > 100 {
		bad("Thresholds.CPUPercent %d must be between 1 and 100", t.CPUPercent)
	}
	if t.FreeStorageGiB < 1 || t.FreeStorageGiB >= s.AllocatedStorageGiB {
		bad("Thresholds.FreeStorageGiB %d must be at least 1 and below AllocatedStorageGiB %d", t.FreeStorageGiB, s.AllocatedStorageGiB)
	}
	if t.Connections < 1 {
		bad("Thresholds.Connections %d must be at least 1", t.Connections)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// Database is the environment's PostgreSQL.
type Database struct {
	constructs.Construct
	// Key encrypts storage, Performance Insights and the master secret.
	Key awskms.Key
	// Instance is the RDS instance.
	Instance awsrds.DatabaseInstance
	// Proxy is the RDS Proxy, or nil when the environment has none.
	Proxy awsrds.DatabaseProxy
	// ProxyRole is the role the proxy connects to the instance with (nil without a proxy). With IAM
	// authentication end to end it needs rds-db:connect on the instance for every user the services connect as,
	// which GrantConnect adds.
	ProxyRole awsiam.Role
	// SecurityGroup guards the instance; ProxySecurityGroup the proxy (nil without one).
	SecurityGroup      awsec2.SecurityGroup
	ProxySecurityGroup awsec2.SecurityGroup
	// Alarms are the database alarms, keyed by "cpu", "free-storage" and "connections".
	Alarms map[string]awscloudwatch.Alarm

	name string
}

// New creates the database, its key, parameter group, security groups, log groups, optional proxy and alarms.
func New(scope constructs.Construct, id string, props Props) *Database {
	if err := props.Validate(); err != nil {
		panic(err)
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	s := props.Settings
	key := encryption.NewKey(c, "Key", "Encrypts the storage, Performance Insights and master secret of "+props.Identifier, props.KeyRemoval)
	engine := awsrds.DatabaseInstanceEngine_Postgres(&awsrds.PostgresInstanceEngineProps{Version: engineVersion(s.EngineVersion)})
	params := awsrds.NewParameterGroup(c, jsii.String("Parameters"), &awsrds.ParameterGroupProps{
		Engine:      engine,
		Description: jsii.String("TLS-only PostgreSQL for " + props.Identifier),
		Parameters: &map[string]*string{
			"rds.force_ssl":              jsii.String("1"),
			"ssl_min_protocol_version":   jsii.String("TLSv1.2"),
			"log_min_duration_statement": jsii.String("1000"),
			// Statements logged for their duration are logged with their bind parameters, customer data here;
			// 0 logs none of them: "If greater than zero, each bind parameter value logged with a non-error
			// statement-logging message is trimmed to this many bytes. Zero disables logging of bind parameters for
			// non-error statement logs." (PostgreSQL 13 and later,
			// https://www.postgresql.org/docs/current/runtime-config-logging.html#GUC-LOG-PARAMETER-MAX-LENGTH).
			"log_parameter_max_length": jsii.String("0"),
		},
	})
	sg := awsec2.NewSecurityGroup(c, jsii.String("SecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              props.Vpc,
		Description:      jsii.String(SecurityGroupDescription),
		AllowAllOutbound: jsii.Bool(false),
	})

	var logGroups []awslogs.LogGroup
	for _, export := range logExports {
		lg := awslogs.NewLogGroup(c, jsii.String("Logs"+export), &awslogs.LogGroupProps{
			LogGroupName:  jsii.String(fmt.Sprintf("/aws/rds/instance/%s/%s", props.Identifier, export)),
			EncryptionKey: props.LogKey,
			Retention:     props.LogRetention,
			RemovalPolicy: props.LogRemoval,
		})
		logGroups = append(logGroups, lg)
	}

	instanceProps := &awsrds.DatabaseInstanceProps{
		Engine:                   engine,
		InstanceIdentifier:       jsii.String(props.Identifier),
		InstanceType:             awsec2.NewInstanceType(jsii.String(s.InstanceClass)),
		Vpc:                      props.Vpc,
		VpcSubnets:               network.IsolatedSubnets(),
		SecurityGroups:           &[]awsec2.ISecurityGroup{sg},
		Port:                     jsii.Number(Port),
		DatabaseName:             jsii.String(s.Name),
		ParameterGroup:           params,
		Credentials:              awsrds.Credentials_FromUsername(jsii.String(MasterUser), &awsrds.CredentialsFromUsernameOptions{EncryptionKey: key}),
		ManageMasterUserPassword: jsii.Bool(true),
		StorageEncrypted:         jsii.Bool(true),
		StorageEncryptionKey:     key,
		StorageType:              awsrds.StorageType_GP3,
		AllocatedStorage:         jsii.Number(float64(s.AllocatedStorageGiB)),
		MaxAllocatedStorage:      jsii.Number(float64(s.MaxAllocatedStorageGiB)),
		MultiAz:                  jsii.Bool(s.MultiAZ),
		DeletionProtection:       jsii.Bool(s.DeletionProtection),
		BackupRetention:          awscdk.Duration_Days(jsii.Number(float64(s.BackupRetentionDays))),
		DeleteAutomatedBackups:   jsii.Bool(props.Removal == awscdk.RemovalPolicy_DESTROY),
		CopyTagsToSnapshot:       jsii.Bool(true),
		IamAuthentication:        jsii.Bool(true),
		AutoMinorVersionUpgrade:  jsii.Bool(true),
		AllowMajorVersionUpgrade: jsii.Bool(false),
		CaCertificate:            awsrds.CaCertificate_RDS_CA_RSA2048_G1(),
		CloudwatchLogsExports:    jsii.Strings(logExports...),
		PubliclyAccessible:       jsii.Bool(false),
		RemovalPolicy:            props.Removal,
	}
	if s.PerformanceInsights {
		// Database Insights in Standard mode, stated rather than left to CDK's default: the Performance Insights
		// console reaches its end of life on July 31, 2026 and redirects to CloudWatch Database Insights, whose
		// Standard mode keeps the retention and price; the Performance Insights API (and this key and retention)
		// stays (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DatabaseInsights.TurningOnStandard.html,
		// https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_PerfInsights.Enabling.html).
		instanceProps.DatabaseInsightsMode = awsrds.DatabaseInsightsMode_STANDARD
		instanceProps.EnablePerformanceInsights = jsii.Bool(true)
		instanceProps.PerformanceInsightEncryptionKey = key
		instanceProps.PerformanceInsightRetention = awsrds.PerformanceInsightRetention_DEFAULT
	}
	instance := awsrds.NewDatabaseInstance(c, jsii.String("Instance"), instanceProps)
	for _, lg := range logGroups {
		instance.Node().AddDependency(lg)
	}
	suppressFindings(instance, s)

	db := &Database{Construct: c, Key: key, Instance: instance, SecurityGroup: sg, Alarms: map[string]awscloudwatch.Alarm{}, name: s.Name}
	if s.RDSProxy {
		db.addProxy(c, props)
	}
	db.addAlarms(c, props)
	return db
}

func (d *Database) addProxy(c constructs.Construct, props Props) {
	d.ProxySecurityGroup = awsec2.NewSecurityGroup(c, jsii.String("ProxySecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              props.Vpc,
		Description:      jsii.String(ProxySecurityGroupDescription),
		AllowAllOutbound: jsii.Bool(false),
	})
	d.ProxyRole = awsiam.NewRole(c, jsii.String("ProxyRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("rds.amazonaws.com"), nil),
		Description: jsii.String("RDS Proxy of " + props.Identifier + ": connects to the instance with IAM authentication"),
	})
	d.Proxy = awsrds.NewDatabaseProxy(c, jsii.String("Proxy"), &awsrds.DatabaseProxyProps{
		// Named after the instance (ecsr-<env>): "The specified proxy name must be unique for all proxies owned by
		// your AWS account in the specified AWS Region"
		// (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBProxy.html). CDK would name it
		// after the construct id, "Proxy", the same in every environment.
		DbProxyName:       jsii.String(props.Identifier),
		Role:              d.ProxyRole,
		ProxyTarget:       awsrds.ProxyTarget_FromInstance(d.Instance),
		Vpc:               props.Vpc,
		VpcSubnets:        network.PrivateSubnets(),
		SecurityGroups:    &[]awsec2.ISecurityGroup{d.ProxySecurityGroup},
		RequireTLS:        jsii.Bool(true),
		IamAuth:           jsii.Bool(true),
		DefaultAuthScheme: awsrds.DefaultAuthScheme_IAM_AUTH,
	})
	// No rules of our own between the proxy and the instance: DatabaseProxy already opens the proxy's security
	// group to the instance's on the instance's port (egress) and the instance's to the proxy's (ingress). Rules of
	// ours on 5432 would duplicate them (preflight's sg-duplicate-rules).
}

func (d *Database) addAlarms(c constructs.Construct, props Props) {
	five := awscdk.Duration_Minutes(jsii.Number(5))
	t := props.Thresholds
	d.Alarms["cpu"] = observability.NewAlarm(c, "CpuAlarm", props.AlarmTopic, observability.AlarmProps{
		Metric:            d.Instance.MetricCPUUtilization(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Average")}),
		Threshold:         float64(t.CPUPercent),
		Comparison:        awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods: 3,
		Description:       fmt.Sprintf("Database CPU has stayed at or above %d%% for 15 minutes: look at Performance Insights for the top queries.", t.CPUPercent),
	})
	// Storage autoscaling starts when "Free available space is less than or equal to 10 percent of the allocated
	// storage" for five minutes, at most every six hours
	// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html). The threshold is below
	// 10% of the initial allocation (infra/config checks it), so below 10% of any later one: the alarm fires only
	// when autoscaling has not kept up, never during a normal growth step.
	d.Alarms["free-storage"] = observability.NewAlarm(c, "FreeStorageAlarm", props.AlarmTopic, observability.AlarmProps{
		Metric:     d.Instance.MetricFreeStorageSpace(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Minimum")}),
		Threshold:  float64(t.FreeStorageGiB) * (1 << 30),
		Comparison: awscloudwatch.ComparisonOperator_LESS_THAN_OR_EQUAL_TO_THRESHOLD,
		Description: fmt.Sprintf("Database free storage is at or below %d GiB, under the 10%% of allocated storage at which storage autoscaling "+
			"grows it: autoscaling has reached its maximum (%d GiB), is waiting out the 6 hours after the last storage modification, "+
			"or failed. Check the instance's events and storage.", t.FreeStorageGiB, props.Settings.MaxAllocatedStorageGiB),
	})
	d.Alarms["connections"] = observability.NewAlarm(c, "ConnectionsAlarm", props.AlarmTopic, observability.AlarmProps{
		Metric:            d.Instance.MetricDatabaseConnections(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}),
		Threshold:         float64(t.Connections),
		Comparison:        awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods: 2,
		Description:       fmt.Sprintf("Database connections reached %d: check the services' pool sizes and task counts.", t.Connections),
	})
	if d.Proxy != nil {
		// Client logins the proxy refused (IAM token, TLS): the services cannot reach the database even though
		// the instance is healthy, which the instance's own metrics do not show.
		d.Alarms["proxy-failed-auth"] = observability.NewAlarm(c, "ProxyFailedAuthAlarm", props.AlarmTopic, observability.AlarmProps{
			Metric:            d.ProxyMetric("ClientConnectionsSetupFailedAuth", "Sum"),
			Threshold:         1,
			Comparison:        awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			EvaluationPeriods: 2,
			Description: "RDS Proxy " + props.Identifier + " refused client logins for 10 minutes (IAM authentication or TLS): " +
				"check the task roles' rds-db:connect and DATABASE_CA_FILE.",
		})
	}
}

// ProxyMetric is an RDS Proxy metric of the whole proxy over five minutes: namespace AWS/RDS, dimension set
// ProxyName alone ("Monitoring RDS Proxy metrics with Amazon CloudWatch",
// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.monitoring.html). Only for the metrics that
// page lists with dimension set 1 (ClientConnections, ClientConnectionsSetupFailedAuth, DatabaseConnections,
// DatabaseConnectionsBorrowLatency, ...).
func (d *Database) ProxyMetric(name, statistic string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String("AWS/RDS"),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{"ProxyName": d.Proxy.DbProxyName()},
		Period:        awscdk.Duration_Minutes(jsii.Number(5)),
		Statistic:     jsii.String(statistic),
	})
}

// Section is the database part of the dashboard.
func (d *Database) Section() observability.Section {
	five := awscdk.Duration_Minutes(jsii.Number(5))
	graph := func(title string, m awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &[]awscloudwatch.IMetric{m}, Width: jsii.Number(6), Height: jsii.Number(6),
		})
	}
	widgets := []awscloudwatch.IWidget{
		graph("CPU (%)", d.Instance.MetricCPUUtilization(&awscloudwatch.MetricOptions{Period: five})),
		graph("Connections", d.Instance.MetricDatabaseConnections(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")})),
		graph("Free storage (bytes)", d.Instance.MetricFreeStorageSpace(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Minimum")})),
		graph("Freeable memory (bytes)", d.Instance.MetricFreeableMemory(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Minimum")})),
	}
	if d.Proxy != nil {
		widgets = append(widgets,
			graph("Proxy client connections", d.ProxyMetric("ClientConnections", "Maximum")),
			graph("Proxy database connections", d.ProxyMetric("DatabaseConnections", "Maximum")),
			graph("Proxy borrow latency (µs)", d.ProxyMetric("DatabaseConnectionsBorrowLatency", "Average")),
			graph("Proxy refused logins", d.ProxyMetric("ClientConnectionsSetupFailedAuth", "Sum")),
		)
	}
	return observability.Section{Title: "Database", Widgets: widgets}
}

// Endpoint is the host the services connect to: the proxy when there is one, else the instance.
func (d *Database) Endpoint() *string {
	if d.Proxy != nil {
		return d.Proxy.Endpoint()
	}
	return d.Instance.DbInstanceEndpointAddress()
}

// InstanceEndpoint is the instance's own host, for migrations that log in with the master password (the proxy
// accepts IAM authentication only).
func (d *Database) InstanceEndpoint() *string { return d.Instance.DbInstanceEndpointAddress() }

// Name is the database the services use (DATABASE_NAME).
func (d *Database) Name() string { return d.name }

// Secret is the RDS-managed master secret (fields username and password), for migrations only. Grant access
// with GrantReadSecret: the secret's own GrantRead would put the grantee into the database key's policy, a
// reference from this stack to the grantee's that makes a dependency cycle across stacks.
func (d *Database) Secret() awssecretsmanager.ISecret { return d.Instance.Secret() }

// SecretArn is the complete ARN of the master secret.
func (d *Database) SecretArn() *string { return d.Instance.Secret().SecretArn() }

// InstanceResourceID is the instance's resource ID (db-...), the resource part of its rds-db:connect ARN.
func (d *Database) InstanceResourceID() *string { return d.Instance.InstanceResourceId() }

// AllowFrom lets peer reach the endpoint the services use (the proxy when there is one) on the PostgreSQL port.
// It is the one way to open the database to a client, declared from the peer's side (Connections().AllowTo): CDK
// then puts both the peer's egress rule and the database's ingress rule into the peer's stack. Declared from the
// database's side, the ingress rule would sit in this (stateful) stack and refer to the peer's security group in
// the stateless stack, which already depends on this one: a dependency cycle.
func (d *Database) AllowFrom(peer awsec2.IConnectable, description string) {
	target := d.SecurityGroup
	if d.Proxy != nil {
		target = d.ProxySecurityGroup
	}
	allow(peer, target, description)
}

// AllowDirectFrom lets peer reach the instance itself on the PostgreSQL port (the migration task, which logs in
// with the master password the proxy would refuse), declared from the peer's side like AllowFrom.
func (d *Database) AllowDirectFrom(peer awsec2.IConnectable, description string) {
	allow(peer, d.SecurityGroup, description)
}

// allow opens target to peer on the PostgreSQL port, from the peer's side.
func allow(peer awsec2.IConnectable, target awsec2.ISecurityGroup, description string) {
	peer.Connections().AllowTo(target, awsec2.Port_Tcp(jsii.Number(Port)), jsii.String(description))
}

// GrantConnect lets grantee connect as dbUser with an IAM authentication token (rds-db:connect) to the endpoint
// the services use: arn:aws:rds-db:REGION:ACCOUNT:dbuser:RESOURCE_ID/USER, with the proxy's or the instance's
// resource ID. Through a proxy, the proxy's role may then connect to the instance as the same user.
func (d *Database) GrantConnect(grantee awsiam.IGrantable, dbUser string) awsiam.Grant {
	if d.Proxy != nil {
		d.Instance.GrantConnect(d.ProxyRole, jsii.String(dbUser))
		return d.Proxy.GrantConnect(grantee, jsii.String(dbUser))
	}
	return d.Instance.GrantConnect(grantee, jsii.String(dbUser))
}

// GrantReadSecret lets grantee read the master secret (for the migrations task's secrets injection) and
// decrypt it through Secrets Manager only. Both statements go into the grantee's own policy, so the database's
// stack never references the grantee's.
func (d *Database) GrantReadSecret(grantee awsiam.IGrantable) {
	stack := awscdk.Stack_Of(d)
	grantee.GrantPrincipal().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
		Resources: &[]*string{d.SecretArn()},
	}))
	grantee.GrantPrincipal().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("kms:Decrypt"),
		Resources:  &[]*string{d.Key.KeyArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager." + *stack.Region() + ".amazonaws.com"}},
	}))
}

// suppressFindings records, on the instance only, the cdk-nag findings that are decisions, with their reasons.
func suppressFindings(instance awsrds.DatabaseInstance, s Settings) {
	suppressions := []*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-RDS11"),
		Reason: jsii.String("PostgreSQL keeps its default port 5432: the instance is in isolated subnets and its security group " +
			"admits only the services, the proxy and the migration task, so another port would hide nothing, while the " +
			"services' DATABASE_PORT and every PostgreSQL tool default to 5432."),
	}}
	if !s.MultiAZ {
		suppressions = append(suppressions, &cdknag.NagPackSuppression{
			Id: jsii.String("AwsSolutions-RDS3"),
			Reason: jsii.String("This non-production environment runs a single-AZ instance to halve its cost; the " +
				"production guardrail (infra/config) rejects an environment without Multi-AZ."),
		})
	}
	if !s.DeletionProtection {
		suppressions = append(suppressions, &cdknag.NagPackSuppression{
			Id: jsii.String("AwsSolutions-RDS10"),
			Reason: jsii.String("This non-production environment is torn down and recreated freely; the production " +
				"guardrail (infra/config) rejects an environment without deletion protection."),
		})
	}
	// On the DB instance resource alone, not on the construct's children (subnet group, secret attachment).
	cdknag.NagSuppressions_AddResourceSuppressions(instance.Node().DefaultChild(), &suppressions, jsii.Bool(false))
}

func engineVersion(major string) awsrds.PostgresEngineVersion {
	switch major {
	case "16":
		return awsrds.PostgresEngineVersion_VER_16()
	case "17":
		return awsrds.PostgresEngineVersion_VER_17()
	default: // "18": Validate accepts EngineVersions only
		return awsrds.PostgresEngineVersion_VER_18()
	}
}
