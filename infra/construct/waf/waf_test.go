package waf_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/constructtest"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/waf"
)

func TestMain(m *testing.M) { constructtest.Main(m) }

func newWebACL(t *testing.T, count, botControl bool) constructtest.Template {
	t.Helper()
	stack := constructtest.NewStack(t, "test-edge", "us-east-1")
	waf.New(stack, "WebACL", waf.Props{
		Name: "ecsr-test", Count: count, ManagedRuleGroups: waf.ManagedRuleGroups,
		RateLimitPerIP: 2000, RateLimitOrdersPerIP: 100, RateLimitWindowSeconds: 300, OrdersPath: "/api/orders", APIPath: "/api/",
		BotControl: botControl, LogRetention: awslogs.RetentionDays_ONE_MONTH, BlockedPer5Minutes: 50,
	})
	if got := constructtest.NagFindings(t, stack); len(got) > 0 {
		t.Errorf("unsuppressed cdk-nag findings:\n%s", strings.Join(got, "\n"))
	}
	return constructtest.TemplateOf(stack)
}

func TestRules(t *testing.T) {
	for _, tc := range []struct {
		name       string
		count, bot bool
	}{
		{"block with bot control", false, true},
		{"count without bot control", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acl := newWebACL(t, tc.count, tc.bot).Only(t, "AWS::WAFv2::WebACL")
			if got := constructtest.JSON(acl["DefaultAction"]); got != `{"Allow":{}}` {
				t.Errorf("default action = %s; want allow", got)
			}
			if acl["Scope"] != "CLOUDFRONT" {
				t.Errorf("scope = %v; want CLOUDFRONT", acl["Scope"])
			}
			var names []string
			for i, r := range acl["Rules"].([]any) {
				r := r.(map[string]any)
				names = append(names, r["Name"].(string))
				if r["Priority"] != float64(i) {
					t.Errorf("rule %v priority %v; want %d", r["Name"], r["Priority"], i)
				}
				st := r["Statement"].(map[string]any)
				if _, ok := st["ManagedRuleGroupStatement"]; ok {
					want := `{"None":{}}`
					if tc.count {
						want = `{"Count":{}}`
					}
					if got := constructtest.JSON(r["OverrideAction"]); got != want {
						t.Errorf("rule %v override = %s; want %s", r["Name"], got, want)
					}
					// Every rule of the groups keeps its own action: HostingProviderIPList blocks non-AWS
					// hosting providers in block mode (a documented choice, docs/infrastructure.md).
					if o := st["ManagedRuleGroupStatement"].(map[string]any)["RuleActionOverrides"]; o != nil {
						t.Errorf("rule %v overrides rule actions %s", r["Name"], constructtest.JSON(o))
					}
					continue
				}
				want := `{"Block":{}}`
				if tc.count {
					want = `{"Count":{}}`
				}
				if got := constructtest.JSON(r["Action"]); got != want {
					t.Errorf("rule %v action = %s; want %s", r["Name"], got, want)
				}
			}
			want := []string{"AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesAnonymousIpList", "RateLimitPerIP", "RateLimitOrdersPerIP",
				"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet"}
			if tc.bot {
				want = append(want, "AWSManagedRulesBotControlRuleSet")
			}
			if strings.Join(names, ",") != strings.Join(want, ",") {
				t.Errorf("rules = %v; want %v", names, want)
			}
		})
	}
}

func TestRateLimits(t *testing.T) {
	acl := newWebACL(t, false, true).Only(t, "AWS::WAFv2::WebACL")
	rules := map[string]map[string]any{}
	for _, r := range acl["Rules"].([]any) {
		r := r.(map[string]any)
		rules[r["Name"].(string)] = r["Statement"].(map[string]any)
	}
	perIP := rules["RateLimitPerIP"]["RateBasedStatement"].(map[string]any)
	if perIP["Limit"] != 2000.0 || perIP["AggregateKeyType"] != "IP" || perIP["EvaluationWindowSec"] != 300.0 || perIP["ScopeDownStatement"] != nil {
		t.Errorf("per-IP rule = %v; want 2000 per IP in 300 s, unscoped", perIP)
	}
	orders := rules["RateLimitOrdersPerIP"]["RateBasedStatement"].(map[string]any)
	scope := constructtest.JSON(orders["ScopeDownStatement"])
	for _, want := range []string{`"SearchString":"POST"`, `"Method":{}`, `"SearchString":"/api/orders"`, `"PositionalConstraint":"STARTS_WITH"`, `"Type":"LOWERCASE"`} {
		if !strings.Contains(scope, want) {
			t.Errorf("orders scope-down %s lacks %s", scope, want)
		}
	}
	if orders["Limit"] != 100.0 {
		t.Errorf("orders limit = %v; want 100", orders["Limit"])
	}
	bot := constructtest.JSON(rules["AWSManagedRulesBotControlRuleSet"])
	if !strings.Contains(bot, `"InspectionLevel":"TARGETED"`) {
		t.Errorf("bot control = %s; want the targeted inspection level", bot)
	}
	// Bot Control must not challenge the JSON API: its scope-down negates the /api/ prefix.
	botStatement := rules["AWSManagedRulesBotControlRuleSet"]["ManagedRuleGroupStatement"].(map[string]any)
	not, _ := botStatement["ScopeDownStatement"].(map[string]any)["NotStatement"].(map[string]any)
	inner := constructtest.JSON(not["Statement"])
	for _, want := range []string{`"UriPath":{}`, `"PositionalConstraint":"STARTS_WITH"`, `"SearchString":"/api/"`, `"Type":"URL_DECODE"`, `"Type":"LOWERCASE"`} {
		if !strings.Contains(inner, want) {
			t.Errorf("bot control scope-down NOT(%s) lacks %s", inner, want)
		}
	}
	for _, name := range []string{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesSQLiRuleSet"} {
		if sd := rules[name]["ManagedRuleGroupStatement"].(map[string]any)["ScopeDownStatement"]; sd != nil {
			t.Errorf("%s is scoped down (%v); only Bot Control leaves the API out", name, sd)
		}
	}
}

func TestLoggingAndAlarm(t *testing.T) {
	tpl := newWebACL(t, false, false)
	group := tpl.Only(t, "AWS::Logs::LogGroup")
	if group["LogGroupName"] != "aws-waf-logs-ecsr-test" || group["RetentionInDays"] != 30.0 {
		t.Errorf("log group = %v; want aws-waf-logs-ecsr-test kept 30 days", group)
	}
	logging := tpl.Only(t, "AWS::WAFv2::LoggingConfiguration")
	redacted := constructtest.JSON(logging["RedactedFields"])
	for _, h := range []string{"authorization", "cookie"} {
		if !strings.Contains(redacted, `{"SingleHeader":{"Name":"`+h+`"}}`) {
			t.Errorf("redacted fields %s lack %s", redacted, h)
		}
	}
	dest := constructtest.JSON(logging["LogDestinationConfigs"])
	if !strings.Contains(dest, ":log-group:aws-waf-logs-ecsr-test") || strings.Contains(dest, ":*") {
		t.Errorf("log destination %s; want the log group ARN without :*", dest)
	}
	alarm := tpl.Only(t, "AWS::CloudWatch::Alarm")
	if alarm["MetricName"] != "BlockedRequests" || alarm["Namespace"] != "AWS/WAFV2" || alarm["Threshold"] != 50.0 {
		t.Errorf("alarm = %v; want BlockedRequests at 50", alarm)
	}
	// WAF emits the WebACL dimension with the web ACL's metric name, not its name.
	acl := tpl.Only(t, "AWS::WAFv2::WebACL")
	metricName := acl["VisibilityConfig"].(map[string]any)["MetricName"]
	if metricName != waf.MetricName("ecsr-test") {
		t.Errorf("web ACL metric name = %v; want %s", metricName, waf.MetricName("ecsr-test"))
	}
	dims := constructtest.JSON(alarm["Dimensions"])
	if !strings.Contains(dims, `{"Name":"WebACL","Value":"`+metricName.(string)+`"}`) || !strings.Contains(dims, `{"Name":"Rule","Value":"ALL"}`) {
		t.Errorf("alarm dimensions = %s; want WebACL = the web ACL's metric name %v and Rule = ALL", dims, metricName)
	}
	countAlarm := newWebACL(t, true, false).Only(t, "AWS::CloudWatch::Alarm")
	if countAlarm["MetricName"] != "CountedRequests" {
		t.Errorf("count-mode alarm metric = %v; want CountedRequests (what would be blocked)", countAlarm["MetricName"])
	}
}
