package stacks

import (
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
)

func TestEdgeStack(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		name := s.env.StackName("edge")
		if got := s.artifacts[name].Environment; !strings.HasSuffix(got, "/us-east-1") {
			t.Errorf("edge stack environment = %s; want us-east-1", got)
		}
		tmpl := s.stack(t, "edge")
		var acl map[string]any
		for _, r := range tmpl.ofType("AWS::WAFv2::WebACL") {
			acl = r.Properties
		}
		if acl["Scope"] != "CLOUDFRONT" {
			t.Fatalf("web ACL scope = %v; want CLOUDFRONT", acl["Scope"])
		}
		rules := toJSON(acl["Rules"])
		wantAction := `"Block":{}`
		if s.env.WAF.Mode == config.WAFCount {
			wantAction = `"Count":{}`
		}
		if strings.Contains(rules, `"Block":{}`) == (s.env.WAF.Mode == config.WAFCount) || !strings.Contains(rules, wantAction) {
			t.Errorf("rules in %s mode: %s", s.env.WAF.Mode, rules)
		}
		for _, g := range s.env.WAF.ManagedRuleGroups {
			if !strings.Contains(rules, `"Name":"`+g+`"`) {
				t.Errorf("managed rule group %s missing", g)
			}
		}
		if got := strings.Contains(rules, "AWSManagedRulesBotControlRuleSet"); got != s.env.WAF.BotControl {
			t.Errorf("bot control present: %v; want %v", got, s.env.WAF.BotControl)
		}
		if !strings.Contains(rules, `"Limit":`+toJSON(s.env.WAF.RateLimitOrdersPerIP)) || !strings.Contains(rules, `"SearchString":"`+OrdersPath+`"`) {
			t.Errorf("rules lack the POST %s limit of %d", OrdersPath, s.env.WAF.RateLimitOrdersPerIP)
		}
		for _, r := range tmpl.ofType("AWS::Logs::LogGroup") {
			if r.Properties["LogGroupName"] != "aws-waf-logs-ecsr-"+s.env.Name || r.Properties["KmsKeyId"] == nil ||
				r.Properties["RetentionInDays"] != float64(s.env.LogRetentionDays) {
				t.Errorf("WAF log group = %v; want aws-waf-logs-ecsr-%s, encrypted, kept %d days", r.Properties, s.env.Name, s.env.LogRetentionDays)
			}
		}
		tmpl.countOf(t, "AWS::WAFv2::LoggingConfiguration", 1)
		tmpl.hasResource(t, "AWS::CloudWatch::Alarm", map[string]any{"Namespace": "AWS/WAFV2", "Threshold": s.env.Alarms.WAFBlockedPer5Minutes})
		if _, ok := tmpl.Outputs[""]; ok {
			t.Error("unnamed output")
		}
		if len(tmpl.Outputs) != 1 {
			t.Errorf("edge outputs = %v; want the web ACL ARN the distribution reads", tmpl.Outputs)
		}
	})
}
