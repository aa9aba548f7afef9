// Package waf provides the CLOUDFRONT-scope web ACL that filters every request before it reaches the
// distribution's origins. It must live in us-east-1 (the edge stack). Rules, in evaluation order: AWS managed IP
// reputation and anonymous IP lists, a per-IP rate limit, a stricter per-IP rate limit on POST /api/orders, the
// core rule set, known bad inputs, SQL injection, and optionally Bot Control at the targeted inspection level for
// everything but the JSON API. In
// count mode every rule only counts, to roll rules out against real traffic before enforcing them. Requests are
// logged to CloudWatch Logs with the authorization and cookie headers redacted.
package waf

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// ManagedRuleGroups are the AWS managed rule groups the web ACL may enable, in evaluation order: the cheap IP
// lists first so known-bad sources never reach the body inspections.
var ManagedRuleGroups = []string{
	"AWSManagedRulesAmazonIpReputationList",
	"AWSManagedRulesAnonymousIpList",
	"AWSManagedRulesCommonRuleSet",
	"AWSManagedRulesKnownBadInputsRuleSet",
	"AWSManagedRulesSQLiRuleSet",
}

// Props configures the web ACL.
type Props struct {
	// Name names the web ACL and its log group (aws-waf-logs-<Name>, the prefix WAF requires).
	Name string
	// Count makes every rule count instead of block.
	Count bool
	// ManagedRuleGroups are the managed rule groups to enable, a subset of ManagedRuleGroups.
	ManagedRuleGroups []string
	// RateLimitPerIP limits requests per IP in RateLimitWindowSeconds; RateLimitOrdersPerIP limits
	// POST OrdersPath per IP in the same window.
	RateLimitPerIP, RateLimitOrdersPerIP, RateLimitWindowSeconds int
	// OrdersPath is the path of order creation, e.g. /api/orders.
	OrdersPath string
	// BotControl adds the Bot Control rule group at the targeted inspection level, scoped down to requests
	// outside APIPath.
	BotControl bool
	// APIPath is the path prefix of the JSON API, e.g. /api/. Bot Control does not inspect it (see New).
	APIPath string
	// LogRetention, LogKey (optional; its policy must admit CloudWatch Logs) and LogRemoval configure the log
	// group.
	LogRetention awslogs.RetentionDays
	LogKey       awskms.IKey
	LogRemoval   awscdk.RemovalPolicy
	// AlarmTopic (in the same region) receives the blocked-requests alarm; BlockedPer5Minutes is its threshold.
	AlarmTopic         awssns.ITopic
	BlockedPer5Minutes int
}

// WebACL is the web ACL, its logging and its alarm.
type WebACL struct {
	constructs.Construct
	// ACL is the web ACL; its ARN goes into the distribution.
	ACL awswafv2.CfnWebACL
	// LogGroup receives the request logs.
	LogGroup awslogs.LogGroup
	// Blocked is the metric of blocked requests (counted requests in count mode).
	Blocked awscloudwatch.Metric
	// Alarm fires when Blocked reaches the threshold.
	Alarm awscloudwatch.Alarm
}

// New creates the web ACL.
func New(scope constructs.Construct, id string, props Props) *WebACL {
	c := constructs.NewConstruct(scope, jsii.String(id))
	w := &WebACL{Construct: c}
	metric := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true),
			MetricName:               jsii.String(name),
			SampledRequestsEnabled:   jsii.Bool(true),
		}
	}
	var rules []*awswafv2.CfnWebACL_RuleProperty
	managed := func(group string, configs, scopeDown interface{}) {
		override := &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]any{}}
		if props.Count {
			override = &awswafv2.CfnWebACL_OverrideActionProperty{Count: map[string]any{}}
		}
		rules = append(rules, &awswafv2.CfnWebACL_RuleProperty{
			Name:           jsii.String(group),
			Priority:       jsii.Number(float64(len(rules))),
			OverrideAction: override,
			Statement: &awswafv2.CfnWebACL_StatementProperty{ManagedRuleGroupStatement: &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{
				VendorName: jsii.String("AWS"), Name: jsii.String(group), ManagedRuleGroupConfigs: configs,
				ScopeDownStatement: scopeDown,
			}},
			VisibilityConfig: metric(group),
		})
	}
	action := &awswafv2.CfnWebACL_RuleActionProperty{Block: map[string]any{}}
	if props.Count {
		action = &awswafv2.CfnWebACL_RuleActionProperty{Count: map[string]any{}}
	}
	rate := func(name string, limit int, scopeDown interface{}) {
		rules = append(rules, &awswafv2.CfnWebACL_RuleProperty{
			Name:     jsii.String(name),
			Priority: jsii.Number(float64(len(rules))),
			Action:   action,
			Statement: &awswafv2.CfnWebACL_StatementProperty{RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
				AggregateKeyType:    jsii.String("IP"),
				Limit:               jsii.Number(float64(limit)),
				EvaluationWindowSec: jsii.Number(float64(props.RateLimitWindowSeconds)),
				ScopeDownStatement:  scopeDown,
			}},
			VisibilityConfig: metric(name),
		})
	}

	enabled := map[string]bool{}
	for _, g := range props.ManagedRuleGroups {
		enabled[g] = true
	}
	// AWSManagedRulesAnonymousIpList keeps HostingProviderIPList blocking: the list excludes AWS addresses
	// (https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-ip-rep.html), so AWS-hosted
	// monitors and clients pass; docs/infrastructure.md ("Web ACL") says what to do for one on another cloud.
	for _, g := range ManagedRuleGroups[:2] {
		if enabled[g] {
			managed(g, nil, nil)
		}
	}
	rate("RateLimitPerIP", props.RateLimitPerIP, nil)
	rate("RateLimitOrdersPerIP", props.RateLimitOrdersPerIP, &awswafv2.CfnWebACL_StatementProperty{
		AndStatement: &awswafv2.CfnWebACL_AndStatementProperty{Statements: &[]*awswafv2.CfnWebACL_StatementProperty{
			{ByteMatchStatement: &awswafv2.CfnWebACL_ByteMatchStatementProperty{
				FieldToMatch:         &awswafv2.CfnWebACL_FieldToMatchProperty{Method: map[string]any{}},
				PositionalConstraint: jsii.String("EXACTLY"),
				SearchString:         jsii.String("POST"),
				TextTransformations:  &[]*awswafv2.CfnWebACL_TextTransformationProperty{{Priority: jsii.Number(0), Type: jsii.String("NONE")}},
			}},
			{ByteMatchStatement: &awswafv2.CfnWebACL_ByteMatchStatementProperty{
				FieldToMatch:         &awswafv2.CfnWebACL_FieldToMatchProperty{UriPath: map[string]any{}},
				PositionalConstraint: jsii.String("STARTS_WITH"),
				SearchString:         jsii.String(strings.ToLower(props.OrdersPath)),
				// Lowercased and URL-decoded first, so /API/Orders or %2Fapi%2Forders cannot dodge the limit.
				TextTransformations: &[]*awswafv2.CfnWebACL_TextTransformationProperty{
					{Priority: jsii.Number(0), Type: jsii.String("URL_DECODE")},
					{Priority: jsii.Number(1), Type: jsii.String("LOWERCASE")},
				},
			}},
		}},
	})
	for _, g := range ManagedRuleGroups[2:] {
		if enabled[g] {
			managed(g, nil, nil)
		}
	}
	if props.BotControl {
		// The targeted rules answer suspected bots with Challenge and CAPTCHA actions and penalise requests
		// without an aws-waf-token. A browser fetch() POST to the JSON API cannot solve an interstitial, and the web
		// UI does not load the WAF application integration SDK that would acquire the token, so Bot Control
		// inspects everything but the API: a scope-down statement that negates a URI-path prefix match
		// (https://docs.aws.amazon.com/waf/latest/developerguide/waf-bot-control-example-scope-down-dynamic-content.html,
		// https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-not.html). The API keeps
		// the rate limits, IP lists and the body inspections. docs/adr/0010-bot-control-outside-the-api.md.
		apiPath := props.APIPath
		if apiPath == "" {
			panic("waf: BotControl needs APIPath, the API prefix it must not inspect")
		}
		managed("AWSManagedRulesBotControlRuleSet", &[]*awswafv2.CfnWebACL_ManagedRuleGroupConfigProperty{{
			AwsManagedRulesBotControlRuleSet: &awswafv2.CfnWebACL_AWSManagedRulesBotControlRuleSetProperty{
				InspectionLevel: jsii.String("TARGETED"),
			},
		}}, &awswafv2.CfnWebACL_StatementProperty{NotStatement: &awswafv2.CfnWebACL_NotStatementProperty{
			Statement: &awswafv2.CfnWebACL_StatementProperty{ByteMatchStatement: &awswafv2.CfnWebACL_ByteMatchStatementProperty{
				FieldToMatch:         &awswafv2.CfnWebACL_FieldToMatchProperty{UriPath: map[string]any{}},
				PositionalConstraint: jsii.String("STARTS_WITH"),
				SearchString:         jsii.String(strings.ToLower(apiPath)),
				// Decoded and lowercased as for the orders limit, so /API/ or %2Fapi%2F still count as the API.
				TextTransformations: &[]*awswafv2.CfnWebACL_TextTransformationProperty{
					{Priority: jsii.Number(0), Type: jsii.String("URL_DECODE")},
					{Priority: jsii.Number(1), Type: jsii.String("LOWERCASE")},
				},
			}},
		}})
	}

	metricName := MetricName(props.Name)
	w.ACL = awswafv2.NewCfnWebACL(c, jsii.String("ACL"), &awswafv2.CfnWebACLProps{
		Name:             jsii.String(props.Name),
		Description:      jsii.String(fmt.Sprintf("CloudFront web ACL of %s, %s mode", props.Name, mode(props.Count))),
		Scope:            jsii.String("CLOUDFRONT"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]any{}},
		VisibilityConfig: metric(metricName),
		Rules:            &rules,
	})

	logName := "aws-waf-logs-" + props.Name
	w.LogGroup = awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(logName),
		Retention:     props.LogRetention,
		EncryptionKey: props.LogKey,
		RemovalPolicy: props.LogRemoval,
	})
	// WAF wants the log group ARN without the ":*" suffix that LogGroup.LogGroupArn carries.
	logArn := awscdk.Stack_Of(c).FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("logs"), Resource: jsii.String("log-group"), ResourceName: jsii.String(logName),
		ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	logging := awswafv2.NewCfnLoggingConfiguration(c, jsii.String("Logging"), &awswafv2.CfnLoggingConfigurationProps{
		ResourceArn:           w.ACL.AttrArn(),
		LogDestinationConfigs: &[]interface{}{logArn},
		RedactedFields: &[]*awswafv2.CfnLoggingConfiguration_FieldToMatchProperty{
			{SingleHeader: map[string]any{"Name": "authorization"}},
			{SingleHeader: map[string]any{"Name": "cookie"}},
		},
	})
	logging.Node().AddDependency(w.LogGroup)

	blocked := "BlockedRequests"
	if props.Count {
		blocked = "CountedRequests"
	}
	w.Blocked = awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String("AWS/WAFV2"),
		MetricName: jsii.String(blocked),
		// WAF names the WebACL dimension after the web ACL's VisibilityConfig.MetricName, not after its Name
		// ("MetricName: A name of the Amazon CloudWatch metric dimension",
		// https://docs.aws.amazon.com/waf/latest/APIReference/API_VisibilityConfig.html; dimensions WebACL and
		// Rule, https://docs.aws.amazon.com/waf/latest/developerguide/waf-metrics.html).
		DimensionsMap: &map[string]*string{"WebACL": jsii.String(metricName), "Rule": jsii.String("ALL")},
		Statistic:     jsii.String("Sum"),
		Period:        awscdk.Duration_Minutes(jsii.Number(5)),
		Region:        jsii.String("us-east-1"),
	})
	threshold := props.BlockedPer5Minutes
	if threshold < 1 {
		threshold = 100
	}
	w.Alarm = w.Blocked.CreateAlarm(c, jsii.String("BlockedAlarm"), &awscloudwatch.CreateAlarmOptions{
		AlarmDescription:   jsii.String(fmt.Sprintf("The web ACL %s %s at least %d requests in 5 minutes: an attack, or a rule hitting real users.", props.Name, strings.ToLower(strings.TrimSuffix(blocked, "Requests")), threshold)),
		Threshold:          jsii.Number(float64(threshold)),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	if props.AlarmTopic != nil {
		w.Alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(props.AlarmTopic))
		w.Alarm.AddOkAction(awscloudwatchactions.NewSnsAction(props.AlarmTopic))
	}
	return w
}

// MetricName is the CloudWatch metric name of the web ACL called name (its VisibilityConfig.MetricName): the name
// without hyphens. WAF reports the web ACL's metrics under this value of the WebACL dimension.
func MetricName(name string) string {
	return strings.ReplaceAll(name, "-", "")
}

func mode(count bool) string {
	if count {
		return "count"
	}
	return "block"
}
