package manifest

import "strconv"

// Where is what a service's environment points at: the values that differ from one system to another.
type Where struct {
	// Region is the AWS Region of the service's topics, queues and database.
	Region string
	// DatabaseHost, DatabasePort and DatabaseName locate PostgreSQL; DatabaseCAFile is what its certificate is
	// verified against (a PEM bundle in the image, or "system").
	DatabaseHost, DatabasePort, DatabaseName, DatabaseCAFile string
	// TopicARN and QueueURL map a topic or queue name of the manifest to its ARN or URL.
	TopicARN, QueueURL func(name string) string
	// TracesEndpoint is the OTLP/HTTP traces URL and TraceSampleRatio the share of new traces recorded; no
	// tracing variable is set when the ratio is 0 (tracing off).
	TracesEndpoint   string
	TraceSampleRatio float64
}

// The tracing variables (docs/adr/0015-tracing.md), which internal/platform/tracing reads.
const (
	TracesEndpointEnv   = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	TraceSampleRatioEnv = "OTEL_TRACES_SAMPLER_ARG"
)

// Environment returns the plain environment variables ECS gives service s (docs/configuration.md): the values are
// non-secret addresses, names and ARNs. The service holds no password: it connects as its own database user with
// IAM authentication; a service without a database_user gets no DATABASE_* variable. The infrastructure sets exactly these, and each service's tests check that it reads every
// one of them and requires no other, so a misspelt variable fails before a deploy.
func Environment(s Service, w Where) map[string]string {
	env := map[string]string{
		"LOG_FORMAT":       "json",
		"LOG_LEVEL":        "info",
		"SHUTDOWN_TIMEOUT": strconv.Itoa(s.DrainSeconds) + "s",
		"AWS_REGION":       w.Region,
	}
	if s.Kind != KindJob { // a job serves no HTTP
		env["HTTP_ADDR"] = ":" + strconv.Itoa(s.Port)
	}
	if s.DatabaseUser != "" { // a service without database_user has no database
		env["DATABASE_HOST"] = w.DatabaseHost
		env["DATABASE_PORT"] = w.DatabasePort
		env["DATABASE_NAME"] = w.DatabaseName
		env["DATABASE_USER"] = s.DatabaseUser
		env["DATABASE_IAM_AUTH"] = "true"
		env["DATABASE_SSLMODE"] = "verify-full"
		env["DATABASE_CA_FILE"] = w.DatabaseCAFile
	}
	for _, t := range s.Publishes {
		env[TopicEnv(t)] = w.TopicARN(t)
	}
	for _, q := range s.Consumes {
		env[QueueEnv(q)] = w.QueueURL(q)
	}
	for _, q := range s.Sends {
		env[QueueEnv(q)] = w.QueueURL(q)
	}
	if w.TraceSampleRatio > 0 {
		env[TracesEndpointEnv] = w.TracesEndpoint
		env[TraceSampleRatioEnv] = strconv.FormatFloat(w.TraceSampleRatio, 'g', -1, 64)
	}
	return env
}

// SecretEnvironment maps the variable of each of service s's secrets to the secret's name: ECS sets them from
// Secrets Manager (the task definition's secrets, never its environment), make up from files.
func SecretEnvironment(s Service) map[string]string {
	env := map[string]string{}
	for _, sec := range s.Secrets {
		env[SecretEnv(sec)] = sec
	}
	return env
}

// Source names the file and key a variable of Environment comes from, for error messages: the service's
// publishes or consumes entry in infra/services.yaml for a topic or queue, the environment file's tracing
// settings for tracing, else the service's entry.
func Source(s Service, variable string) string {
	file := "infra/services.yaml: services."
	if s.Kind == KindJob {
		file = "infra/services.yaml: jobs."
	}
	for _, t := range s.Publishes {
		if TopicEnv(t) == variable {
			return file + s.Name + ".publishes (" + t + ")"
		}
	}
	for _, q := range s.Consumes {
		if QueueEnv(q) == variable {
			return file + s.Name + ".consumes (" + q + ")"
		}
	}
	for _, q := range s.Sends {
		if QueueEnv(q) == variable {
			return file + s.Name + ".sends (" + q + ")"
		}
	}
	for _, sec := range s.Secrets {
		if SecretEnv(sec) == variable {
			return file + s.Name + ".secrets (" + sec + ")"
		}
	}
	if variable == TracesEndpointEnv || variable == TraceSampleRatioEnv {
		return "infra/environments/<environment>.yaml: tracing.sample_ratio"
	}
	return file + s.Name
}
