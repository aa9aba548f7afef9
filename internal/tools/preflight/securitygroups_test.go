package preflight

import "testing"

func TestSecurityGroupRules(t *testing.T) {
	group := func(inline, more string) string {
		return `{"Resources":{
	"DB":{"Type":"AWS::RDS::DBInstance","Properties":{"Engine":"postgres"}},
	"Peer":{"Type":"AWS::EC2::SecurityGroup","Properties":{}},
	"SG":{"Type":"AWS::EC2::SecurityGroup","Properties":{"SecurityGroupIngress":[` + inline + `]}}` + more + `}}`
	}
	const https = `{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"CidrIp":"10.0.0.0/16","Description":"HTTPS"}`
	ingress := func(id, port, desc string) string {
		return `,"` + id + `":{"Type":"AWS::EC2::SecurityGroupIngress","Properties":{"GroupId":{"Fn::GetAtt":["SG","GroupId"]},
			"IpProtocol":"tcp","FromPort":` + port + `,"ToPort":` + port + `,"Description":"` + desc + `",
			"SourceSecurityGroupId":{"Fn::GetAtt":["Peer","GroupId"]}}}`
	}
	const endpointPort = `{"Fn::GetAtt":["DB","Endpoint.Port"]}`
	runCases(t, securityGroupRulesRule, []ruleCase{
		{name: "distinct rules", stacks: []testStack{{name: "ecsr-dev-a", template: group(https, ingress("In", "5432", "a"))}}},
		{name: "inline rule twice", stacks: []testStack{{name: "ecsr-dev-a", template: group(https+","+https, "")}},
			want: []string{"ecsr-dev-a/SG"}},
		{name: "inline rule twice with other descriptions and protocol numbers", stacks: []testStack{{name: "ecsr-dev-a",
			template: group(https+`,{"IpProtocol":"6","FromPort":"443","ToPort":"443","CidrIp":"10.0.0.0/16","Description":"again"}`, "")}},
			want: []string{"ecsr-dev-a/SG"}},
		{name: "the instance's endpoint port and 5432", stacks: []testStack{{name: "ecsr-dev-a",
			template: group(https, ingress("ByPort", endpointPort, "from the proxy")+ingress("By5432", "5432", "PostgreSQL"))}},
			want: []string{"ecsr-dev-a/ByPort"}},
		{name: "an explicit endpoint port that differs", stacks: []testStack{{name: "ecsr-dev-a",
			template: `{"Resources":{"DB":{"Type":"AWS::RDS::DBInstance","Properties":{"Engine":"postgres","Port":"6432"}},
			"Peer":{"Type":"AWS::EC2::SecurityGroup","Properties":{}},"SG":{"Type":"AWS::EC2::SecurityGroup","Properties":{}}` +
				ingress("ByPort", endpointPort, "x") + ingress("By5432", "5432", "y") + `}}`}}},
		{name: "egress is another direction", stacks: []testStack{{name: "ecsr-dev-a", template: group(https,
			`,"Out":{"Type":"AWS::EC2::SecurityGroupEgress","Properties":{"GroupId":{"Fn::GetAtt":["SG","GroupId"]},
			"IpProtocol":"tcp","FromPort":443,"ToPort":443,"CidrIp":"10.0.0.0/16"}}`)}}},
		{name: "a rule on an imported group duplicates its inline rule", stacks: []testStack{
			{name: "ecsr-dev-a", template: `{"Resources":{"SG":{"Type":"AWS::EC2::SecurityGroup","Properties":{"SecurityGroupIngress":[` +
				https + `]}}},"Outputs":{"G":{"Value":{"Fn::GetAtt":["SG","GroupId"]},"Export":{"Name":"sg"}}}}`},
			{name: "ecsr-dev-b", template: `{"Resources":{"In":{"Type":"AWS::EC2::SecurityGroupIngress","Properties":{"GroupId":{"Fn::ImportValue":"sg"},
				"IpProtocol":"tcp","FromPort":443,"ToPort":443,"CidrIp":"10.0.0.0/16"}}}}`}},
			want: []string{"ecsr-dev-b/In"}},
	})
}
