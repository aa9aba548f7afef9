package preflight

import (
	"strconv"
	"strings"
	"testing"
)

// dbStack is a stateful stack with a DB instance and a proxy, exporting both endpoints.
const dbStack = `{"Resources":{
	"Instance":{"Type":"AWS::RDS::DBInstance","Properties":{"Engine":"postgres","DBInstanceClass":"db.t4g.micro"}},
	"Proxy":{"Type":"AWS::RDS::DBProxy","Properties":{"DBProxyName":"ecsr-dev-proxy"}}},
 "Outputs":{
	"InstanceHost":{"Value":{"Fn::GetAtt":["Instance","Endpoint.Address"]},"Export":{"Name":"ecsr-dev-db:InstanceHost"}},
	"ProxyHost":{"Value":{"Fn::GetAtt":["Proxy","Endpoint"]},"Export":{"Name":"ecsr-dev-db:ProxyHost"}}}}`

// taskUsing is an app stack whose task definition's container connects to host with the CA file.
func taskUsing(host, ca string) string {
	return `{"Resources":{"Task":{"Type":"AWS::ECS::TaskDefinition","Properties":{"ContainerDefinitions":[{"Name":"api",
		"Environment":[{"Name":"DATABASE_HOST","Value":` + host + `},{"Name":"DATABASE_CA_FILE","Value":"` + ca + `"}]}]}}}}`
}

func TestTrustAnchor(t *testing.T) {
	db := testStack{name: "ecsr-dev-db", template: dbStack}
	proxyImport := `{"Fn::ImportValue":"ecsr-dev-db:ProxyHost"}`
	instanceImport := `{"Fn::ImportValue":"ecsr-dev-db:InstanceHost"}`
	stackOutput := `{"Fn::GetStackOutput":{"StackName":"ecsr-dev-db","OutputName":"ProxyHost","Region":"eu-west-1"}}`
	runCases(t, trustAnchorRule, []ruleCase{
		{name: "proxy with the RDS bundle", stacks: []testStack{db, {name: "ecsr-dev-app", template: taskUsing(proxyImport, RDSBundle)}},
			want: []string{"ecsr-dev-app/Task"}},
		{name: "proxy with the system store", stacks: []testStack{db, {name: "ecsr-dev-app", template: taskUsing(proxyImport, SystemTrustStore)}}},
		{name: "proxy through Fn::GetStackOutput with the RDS bundle", stacks: []testStack{db,
			{name: "ecsr-dev-app", template: taskUsing(stackOutput, RDSBundle)}}, want: []string{"ecsr-dev-app/Task"}},
		{name: "instance with the RDS bundle", stacks: []testStack{db, {name: "ecsr-dev-app", template: taskUsing(instanceImport, RDSBundle)}}},
		{name: "instance with the system store", stacks: []testStack{db, {name: "ecsr-dev-app", template: taskUsing(instanceImport, SystemTrustStore)}},
			want: []string{"ecsr-dev-app/Task"}},
		{name: "instance in the same stack by GetAtt", stacks: []testStack{{name: "ecsr-dev-db", template: strings.Replace(dbStack,
			`"Proxy":{`, `"Task":{"Type":"AWS::ECS::TaskDefinition","Properties":{"ContainerDefinitions":[{"Name":"m","Environment":[
			{"Name":"DATABASE_HOST","Value":{"Fn::GetAtt":["Instance","Endpoint.Address"]}},{"Name":"DATABASE_CA_FILE","Value":"system"}]}]}},"Proxy":{`, 1)}},
			want: []string{"ecsr-dev-db/Task"}},
		{name: "a host that resolves to nothing", stacks: []testStack{db, {name: "ecsr-dev-app", template: taskUsing(`"db.internal"`, RDSBundle)}},
			want: []string{"ecsr-dev-app/Task"}},
	})
}

// appStack is a stateless stack with a cluster and a service whose container logs in as user; migrate adds the
// migration task definition to it.
func appStack(user string, migrate bool) string {
	s := `{"Resources":{
	"Task":{"Type":"AWS::ECS::TaskDefinition","Properties":{"ContainerDefinitions":[{"Name":"api","EntryPoint":["/app/ecsr","api"],
		"Environment":[{"Name":"DATABASE_USER","Value":"` + user + `"}]}]}},
	"Service":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":{"Ref":"Task"}}}`
	if migrate {
		s += `,` + migrationTask
	}
	return s + `}}`
}

const migrationTask = `"Migration":{"Type":"AWS::ECS::TaskDefinition","Properties":{"ContainerDefinitions":[{"Name":"migrate",
	"EntryPoint":["/app/ecsr","migrate"],"Secrets":[{"Name":"DATABASE_USER","ValueFrom":"arn"}]}]}}`

// migrationTaskAs is the migration task definition with its container's entry point and command as given.
func migrationTaskAs(entryPoint, command string) string {
	return strings.Replace(migrationTask, `"EntryPoint":["/app/ecsr","migrate"]`, `"EntryPoint":`+entryPoint+`,"Command":`+command, 1)
}

func TestMigrateFirst(t *testing.T) {
	roles := Options{ServiceRoles: []string{"orders_api", "fulfillment_worker"}}
	migrations := testStack{name: "ecsr-dev-migrate", template: `{"Resources":{` + migrationTask + `}}`, deps: []string{"ecsr-dev-db"}}
	db := testStack{name: "ecsr-dev-db", template: `{"Resources":{}}`}
	runCases(t, migrateFirstRule, []ruleCase{
		{name: "migration in the service's stack", opts: roles, stacks: []testStack{{name: "ecsr-dev-app", template: appStack("orders_api", true)}},
			want: []string{"ecsr-dev-app/Service"}},
		{name: "service stack depends on the migration's stack", opts: roles, stacks: []testStack{db, migrations,
			{name: "ecsr-dev-app", template: appStack("orders_api", false), deps: []string{"ecsr-dev-migrate"}}}},
		{name: "transitive dependency", opts: roles, stacks: []testStack{db, migrations,
			{name: "ecsr-dev-mid", template: `{"Resources":{}}`, deps: []string{"ecsr-dev-migrate"}},
			{name: "ecsr-dev-app", template: appStack("orders_api", false), deps: []string{"ecsr-dev-mid"}}}},
		{name: "no dependency on the migration's stack", opts: roles, stacks: []testStack{db, migrations,
			{name: "ecsr-dev-app", template: appStack("orders_api", false), deps: []string{"ecsr-dev-db"}}},
			want: []string{"ecsr-dev-app/Service"}},
		{name: "a role the migrations do not create", opts: roles, stacks: []testStack{db, migrations,
			{name: "ecsr-dev-app", template: appStack("reporting", false), deps: []string{"ecsr-dev-migrate"}}},
			want: []string{"ecsr-dev-app/Service"}},
		{name: "no migration at all", opts: roles, stacks: []testStack{{name: "ecsr-dev-app", template: appStack("orders_api", false)}},
			want: []string{"ecsr-dev-app/Service"}},
		{name: "migrate as the command of the one binary", opts: roles, stacks: []testStack{db,
			{name: "ecsr-dev-migrate", template: `{"Resources":{` + migrationTaskAs(`["/app/ecsr"]`, `["migrate","up"]`) + `}}`, deps: []string{"ecsr-dev-db"}},
			{name: "ecsr-dev-app", template: appStack("orders_api", false), deps: []string{"ecsr-dev-migrate"}}}},
		{name: "the former /app/migrate binary is not in the image", opts: roles, stacks: []testStack{db,
			{name: "ecsr-dev-migrate", template: `{"Resources":{` + migrationTaskAs(`["/app/migrate"]`, `null`) + `}}`, deps: []string{"ecsr-dev-db"}},
			{name: "ecsr-dev-app", template: appStack("orders_api", false), deps: []string{"ecsr-dev-migrate"}}},
			want: []string{"ecsr-dev-app/Service"}},
		{name: "another command of the one binary is not a migration", opts: roles, stacks: []testStack{db,
			{name: "ecsr-dev-migrate", template: `{"Resources":{` + migrationTaskAs(`["/app/ecsr","api"]`, `null`) + `}}`, deps: []string{"ecsr-dev-db"}},
			{name: "ecsr-dev-app", template: appStack("orders_api", false), deps: []string{"ecsr-dev-migrate"}}},
			want: []string{"ecsr-dev-app/Service"}},
	})
}

func TestMaxConnections(t *testing.T) {
	for class, want := range map[string]int{"db.t4g.micro": 112, "db.t4g.small": 225, "db.m7g.large": 901, "db.r7g.4xlarge": 5000} {
		if got, ok := MaxConnections(class); !ok || got != want {
			t.Errorf("MaxConnections(%s) = %d, %v; want %d", class, got, ok, want)
		}
	}
	if _, ok := MaxConnections("db.x9.huge"); ok {
		t.Error("MaxConnections of an unknown class reported a limit")
	}
}

func TestConnectionBudget(t *testing.T) {
	stack := func(class string, maxTasks int, through string) string {
		return `{"Resources":{
	"Instance":{"Type":"AWS::RDS::DBInstance","Properties":{"DBInstanceClass":"` + class + `"}},
	"Proxy":{"Type":"AWS::RDS::DBProxy","Properties":{}},
	"Cluster":{"Type":"AWS::ECS::Cluster","Properties":{}},
	"Task":{"Type":"AWS::ECS::TaskDefinition","Properties":{"ContainerDefinitions":[{"Name":"api",
		"Environment":[{"Name":"DATABASE_HOST","Value":{"Fn::GetAtt":["` + through + `","Endpoint.Address"]}}]}]}},
	"Service":{"Type":"AWS::ECS::Service","Properties":{"Cluster":{"Ref":"Cluster"},"TaskDefinition":{"Ref":"Task"}}},
	"Scaling":{"Type":"AWS::ApplicationAutoScaling::ScalableTarget","Properties":{"MaxCapacity":` + strconv.Itoa(maxTasks) + `,
		"ResourceId":{"Fn::Join":["/",["service",{"Ref":"Cluster"},{"Fn::GetAtt":["Service","Name"]}]]}}},
	"Migration":{"Type":"AWS::ECS::TaskDefinition","Properties":{"ContainerDefinitions":[{"Name":"migrate","EntryPoint":["/app/ecsr","migrate"],
		"Environment":[{"Name":"DATABASE_HOST","Value":{"Fn::GetAtt":["Instance","Endpoint.Address"]}}]}]}}}}`
	}
	pools := Options{PoolSize: 20, MigrationPoolSize: 2}
	runCases(t, connectionBudgetRule, []ruleCase{
		{name: "5 tasks × 20 + 2 fit t4g.micro's 112", opts: pools, stacks: []testStack{{name: "ecsr-dev-a", template: stack("db.t4g.micro", 5, "Instance")}}},
		{name: "6 tasks × 20 + 2 exceed t4g.micro's 112", opts: pools, stacks: []testStack{{name: "ecsr-dev-a", template: stack("db.t4g.micro", 6, "Instance")}},
			want: []string{"ecsr-dev-a/Instance"}},
		{name: "through the proxy the services do not count", opts: pools, stacks: []testStack{{name: "ecsr-dev-a", template: stack("db.t4g.micro", 50, "Proxy")}}},
		// 5 service tasks fit alone; a scheduled job's task connecting too does not.
		{name: "a scheduled job's task counts", opts: pools, stacks: []testStack{{name: "ecsr-dev-a", template: strings.Replace(stack("db.t4g.micro", 5, "Instance"),
			`"Migration":`, `"JobTask":{"Type":"AWS::ECS::TaskDefinition","Properties":{"ContainerDefinitions":[{"Name":"nightly",
		"Environment":[{"Name":"DATABASE_HOST","Value":{"Fn::GetAtt":["Instance","Endpoint.Address"]}}]}]}},
	"JobSchedule":{"Type":"AWS::Scheduler::Schedule","Properties":{"Target":{"EcsParameters":{"TaskDefinitionArn":{"Ref":"JobTask"}}}}},
	"Migration":`, 1)}}, want: []string{"ecsr-dev-a/Instance"}},
	})
}
