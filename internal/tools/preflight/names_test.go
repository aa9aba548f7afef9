package preflight

import "testing"

func named(typ, prop, name string) string {
	return `{"Resources":{"Named":{"Type":"` + typ + `","Properties":{"` + prop + `":` + name + `}}}}`
}

func TestPhysicalNames(t *testing.T) {
	proxy := func(name string) string { return named("AWS::RDS::DBProxy", "DBProxyName", `"`+name+`"`) }
	runCases(t, physicalNamesRule, []ruleCase{
		{name: "proxy named Proxy", stacks: []testStack{{name: "ecsr-dev-db", template: proxy("Proxy")}},
			want: []string{"ecsr-dev-db/Named"}},
		{name: "prefixed name", stacks: []testStack{{name: "ecsr-dev-db", template: proxy("ecsr-dev-proxy")}}},
		{name: "generated name", stacks: []testStack{{name: "ecsr-dev-db", template: `{"Resources":{"P":{"Type":"AWS::RDS::DBProxy","Properties":{}}}}`}}},
		{name: "another environment's prefix", stacks: []testStack{{name: "ecsr-dev-db", template: proxy("ecsr-dev2-proxy")}},
			want: []string{"ecsr-dev-db/Named"}},
		{name: "prefix inside a path", stacks: []testStack{{name: "ecsr-dev-db",
			template: named("AWS::Logs::LogGroup", "LogGroupName", `"/aws/rds/instance/ecsr-dev/postgresql"`)}}},
		{name: "name joined from the stack name", stacks: []testStack{{name: "ecsr-dev-app",
			template: named("AWS::CloudWatch::Alarm", "AlarmName", `{"Fn::Join":["-",[{"Ref":"AWS::StackName"},"5xx"]]}`)}}},
		{name: "the same unprefixed name in two environments sharing account and region", stacks: []testStack{
			{name: "ecsr-dev-db", template: proxy("Proxy")}, {name: "ecsr-staging-db", template: proxy("proxy")}},
			want: []string{"ecsr-dev-db/Named", "ecsr-dev-db/Named"}}, // prefix, and collision (names ignore case)
		{name: "the same name in two regions", stacks: []testStack{
			{name: "ecsr-dev-a", template: named("AWS::Logs::LogGroup", "LogGroupName", `"ecsr-dev-logs"`)},
			{name: "ecsr-dev-b", region: "us-east-1", template: named("AWS::Logs::LogGroup", "LogGroupName", `"ecsr-dev-logs"`)}}},
		{name: "the same name twice in one region", stacks: []testStack{
			{name: "ecsr-dev-a", template: named("AWS::Logs::LogGroup", "LogGroupName", `"ecsr-dev-logs"`)},
			{name: "ecsr-dev-b", template: named("AWS::Logs::LogGroup", "LogGroupName", `"ecsr-dev-logs"`)}},
			want: []string{"ecsr-dev-a/Named", "ecsr-dev-b/Named"}},
		{name: "IAM role names are per account, across regions", stacks: []testStack{
			{name: "ecsr-dev-a", template: named("AWS::IAM::Role", "RoleName", `"ecsr-dev-deploy"`)},
			{name: "ecsr-dev-b", region: "us-east-1", template: named("AWS::IAM::Role", "RoleName", `"ECSR-DEV-DEPLOY"`)}},
			want: []string{"ecsr-dev-a/Named", "ecsr-dev-b/Named"}},
		{name: "log group names are case sensitive", stacks: []testStack{
			{name: "ecsr-dev-a", template: named("AWS::Logs::LogGroup", "LogGroupName", `"ecsr-dev-logs"`)},
			{name: "ecsr-dev-b", template: named("AWS::Logs::LogGroup", "LogGroupName", `"ecsr-dev-Logs"`)}}},
		{name: "web ACLs of different scopes", stacks: []testStack{
			{name: "ecsr-dev-a", template: `{"Resources":{"A":{"Type":"AWS::WAFv2::WebACL","Properties":{"Name":"ecsr-dev","Scope":"CLOUDFRONT"}}}}`},
			{name: "ecsr-dev-b", template: `{"Resources":{"A":{"Type":"AWS::WAFv2::WebACL","Properties":{"Name":"ecsr-dev","Scope":"REGIONAL"}}}}`}}},
	})
}

func TestCarriesPrefix(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"ecsr-dev", true}, {"ecsr-dev-proxy", true}, {"aws-waf-logs-ecsr-dev", true}, {"/aws/ecs/ecsr-dev/api", true},
		{"ecsr-dev2", false}, {"myecsr-dev", false}, {"Proxy", false}, {"ECSR-DEV-x", true},
	} {
		if got := carriesPrefix(tc.name, "ecsr-dev"); got != tc.want {
			t.Errorf("carriesPrefix(%q, ecsr-dev) = %v; want %v", tc.name, got, tc.want)
		}
	}
}
