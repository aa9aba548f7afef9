// Package secrets provides the services' own secrets (infra/services.yaml, a service's secrets): one Secrets
// Manager secret each, in the stateful stack so that a value put into it outlives any redeploy of the services.
// ECS reads the value when a task starts and sets it as the variable manifest.SecretEnv(name) (the service
// construct's task definition, its secrets); the value is never in a template, a task definition or a log.
package secrets

import (
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/ids"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// Props configures the secrets.
type Props struct {
	// Manifest declares each service's secrets.
	Manifest *manifest.Manifest
	// Environment names the environment in each secret's description, where an operator finds it.
	Environment string
	// Removal is what deleting the stack does to the secrets (retain in production).
	Removal awscdk.RemovalPolicy
}

// Validate reports every problem with the props at once.
func (p Props) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.Manifest == nil {
		bad("Manifest is required: it declares the secrets")
	}
	if p.Environment == "" {
		bad("Environment is required: it names the secrets' environment")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	return nil
}

// Secrets holds the secrets by service, then by the secret's name.
type Secrets struct {
	constructs.Construct
	ByService map[string]map[string]awssecretsmanager.Secret
}

// OutputName is the stateful stack's output that holds the ARN of service's secret: "ShippingCarrierApiKeySecretArn".
func OutputName(service, secret string) string {
	return ids.Pascal(service) + ids.Pascal(secret) + "SecretArn"
}

// Key is how an operator names a secret: "<service>/<secret>" (docs/runbook.md, "Secrets").
func Key(service, secret string) string { return service + "/" + secret }

// New creates one secret per secret of every service. Each starts with a random value, so that the first deploy
// starts the service; an operator puts the real value (docs/runbook.md, "Secrets"), and the next task started
// reads it. CloudFormation names the secret: an explicit name would be taken for the 7 to 30 days a deleted
// secret waits for deletion, and a redeploy after a deletion would fail
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html). The secret's
// description and the stack output OutputName name it.
func New(scope constructs.Construct, id string, props Props) *Secrets {
	if err := props.Validate(); err != nil {
		panic(err)
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	s := &Secrets{Construct: c, ByService: map[string]map[string]awssecretsmanager.Secret{}}
	owners := slices.Clone(props.Manifest.Services)
	for _, j := range props.Manifest.Jobs {
		owners = append(owners, j.Service())
	}
	for _, ms := range owners {
		for _, name := range ms.Secrets {
			cid := ids.Pascal(ms.Name) + ids.Pascal(name)
			secret := awssecretsmanager.NewSecret(c, jsii.String(cid), &awssecretsmanager.SecretProps{
				Description: jsii.String(fmt.Sprintf("ecsr %s: secret %s of the %s service (variable %s); put its value "+
					"with aws secretsmanager put-secret-value (docs/runbook.md, Secrets)", props.Environment, name, ms.Name, manifest.SecretEnv(name))),
				GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
					PasswordLength: jsii.Number(40), ExcludePunctuation: jsii.Bool(true),
				},
				RemovalPolicy: props.Removal,
			})
			cdknag.NagSuppressions_AddResourceSuppressions(secret, &[]*cdknag.NagPackSuppression{{
				Id: jsii.String("AwsSolutions-SMG4"),
				Reason: jsii.String("A service's own secret (an API key of another system, a signing key) is issued by that system; " +
					"an operator rotates it there and puts the new value (docs/runbook.md, Secrets)."),
			}}, jsii.Bool(false))
			awscdk.NewCfnOutput(awscdk.Stack_Of(c), jsii.String(OutputName(ms.Name, name)), &awscdk.CfnOutputProps{
				Value:       secret.SecretArn(),
				Description: jsii.String("Secret " + Key(ms.Name, name)),
			})
			if s.ByService[ms.Name] == nil {
				s.ByService[ms.Name] = map[string]awssecretsmanager.Secret{}
			}
			s.ByService[ms.Name][name] = secret
		}
	}
	return s
}
