package observability

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Dashboard is the environment's CloudWatch dashboard: one section per concern (database, queues, services,
// edge), each a title row followed by its widgets.
type Dashboard struct {
	awscloudwatch.Dashboard
}

// DashboardProps configures the dashboard.
type DashboardProps struct {
	// Name is the dashboard's name in the console, e.g. ecsr-prod.
	Name string
}

// NewDashboard creates an empty dashboard. Create it in the last regional stack (the one that can reference
// every regional resource without a dependency cycle) and let each construct add its section.
func NewDashboard(scope constructs.Construct, id string, props DashboardProps) *Dashboard {
	d := awscloudwatch.NewDashboard(scope, jsii.String(id), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(props.Name),
	})
	return &Dashboard{Dashboard: d}
}

// Section is a titled group of widgets a construct contributes to the dashboard.
type Section struct {
	// Title heads the section.
	Title string
	// Widgets follow the title, laid out left to right.
	Widgets []awscloudwatch.IWidget
}

// AddSection adds a title row and the section's widgets.
func (d *Dashboard) AddSection(s Section) {
	d.AddWidgets(awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
		Markdown: jsii.String("## " + s.Title),
		Width:    jsii.Number(24),
		Height:   jsii.Number(1),
	}))
	d.AddWidgets(s.Widgets...)
}
