// Package constructtest holds the helpers of the construct tests: a region-only test stack checked by the
// cdk-nag AwsSolutions pack, and readers for its template and unsuppressed findings.
package constructtest

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Main runs a construct package's tests and then stops the jsii runtime; use it as the package's TestMain.
func Main(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// NewStack returns a stack in region of a new app that synthesizes into a temporary directory, with the
// AwsSolutions checks applied.
func NewStack(t *testing.T, id, region string) awscdk.Stack {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return awscdk.NewStack(app, jsii.String(id), &awscdk.StackProps{Env: &awscdk.Environment{Region: jsii.String(region)}})
}

// Suppress suppresses rule on construct c and its children; for test fixtures that stand in for other
// constructs.
func Suppress(c any, rule, reason string) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{{Id: jsii.String(rule), Reason: jsii.String(reason)}}, jsii.Bool(true))
}

// NagFindings returns the unsuppressed cdk-nag errors and warnings of the stack, one line each.
func NagFindings(t *testing.T, stack awscdk.Stack) []string {
	t.Helper()
	ann := assertions.Annotations_FromStack(stack)
	match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	var out []string
	for _, msgs := range []*[]*cxapi.SynthesisMessage{ann.FindError(jsii.String("*"), match), ann.FindWarning(jsii.String("*"), match)} {
		for _, m := range *msgs {
			out = append(out, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
		}
	}
	return out
}

// Template is a synthesized template as plain JSON values.
type Template map[string]any

// TemplateOf synthesizes the stack and returns its template.
func TemplateOf(stack awscdk.Stack) Template {
	return Template(*assertions.Template_FromStack(stack, nil).ToJSON())
}

// Resources returns the resources of type typ by logical ID.
func (tpl Template) Resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// Only returns the properties of the single resource of type typ, failing the test unless there is exactly one.
func (tpl Template) Only(t *testing.T, typ string) map[string]any {
	t.Helper()
	rs := tpl.Resources(typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of type %s; want 1", len(rs), typ)
	}
	for _, r := range rs {
		return Props(r)
	}
	return nil
}

// Of returns the properties of the resource behind construct c (its default child).
func (tpl Template) Of(t *testing.T, stack awscdk.Stack, c constructs.IConstruct) map[string]any {
	t.Helper()
	id := *stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
	r, ok := tpl["Resources"].(map[string]any)[id].(map[string]any)
	if !ok {
		t.Fatalf("no resource %s in the template", id)
	}
	return Props(r)
}

// Props returns a resource's properties.
func Props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// JSON renders v compactly, for comparisons of nested values and for messages.
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// List returns v as a list: a single value becomes a one-element list.
func List(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}
