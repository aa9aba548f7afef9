package service

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// The container health check of every service (web and worker): ECS runs the service's command of the image's
// one binary with -healthcheck (`/app/ecsr <command> -healthcheck`) (internal/platform/health), which GETs /healthz over loopback and exits 0 or 1. The image is
// distroless, without a shell, so the command uses the CMD (exec) form, not CMD-SHELL.
//
// Sources: the container definition's HealthCheck, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html
// and https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ecs-taskdefinition-healthcheck.html
// (CMD runs the arguments directly; for a task of a service, an unhealthy container gets the task stopped and
// replaced), with the ranges CDK enforces, https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_ecs.HealthCheck.html:
// interval 5-300 s, timeout 2-60 s, retries 1-10, start period 0-300 s.
//
// How they fit the drain settings: /healthz answers 200 for as long as the HTTP server runs, including while the
// task drains (only /readyz turns 503 at SIGTERM), so a draining task is never reported unhealthy before ECS
// stops it. A task that stops answering is unhealthy after HealthCheckRetries × HealthCheckIntervalSeconds
// (30 s), which is below every service's stop timeout (drain + 10 s, 30 s for the API and 70 s for the worker): a
// hung task is replaced about as fast as a clean stop takes. The start period covers the wait for the database
// at startup (the server answers /healthz while /readyz is still 503) and equals the web services' load
// balancer grace period.
const (
	HealthCheckIntervalSeconds    = 10
	HealthCheckTimeoutSeconds     = 5 // above the probe's own 3 s (health.ProbeTimeout), so the binary reports the failure
	HealthCheckRetries            = 3
	HealthCheckStartPeriodSeconds = 60
)

// HealthCheckCommand is the container health check's command of a service.
func HealthCheckCommand(s manifest.Service) []string {
	return append(append([]string{"CMD"}, manifest.EntryPoint(s.Command)...), "-healthcheck")
}

// containerHealthCheck is the container health check of a service.
func containerHealthCheck(s manifest.Service) *awsecs.HealthCheck {
	return &awsecs.HealthCheck{
		Command:     jsii.Strings(HealthCheckCommand(s)...),
		Interval:    awscdk.Duration_Seconds(jsii.Number(HealthCheckIntervalSeconds)),
		Timeout:     awscdk.Duration_Seconds(jsii.Number(HealthCheckTimeoutSeconds)),
		Retries:     jsii.Number(HealthCheckRetries),
		StartPeriod: awscdk.Duration_Seconds(jsii.Number(HealthCheckStartPeriodSeconds)),
	}
}
