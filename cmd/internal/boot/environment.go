package boot

import (
	"fmt"
	"slices"
	"sort"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
)

// placeholders stand for the addresses a deployed service receives; only the names matter to
// EnvironmentProblems, the values only need to be well-formed.
var placeholders = manifest.Where{
	Region:       "eu-west-1",
	DatabaseHost: "db.internal.example", DatabasePort: "5432", DatabaseName: "app", DatabaseCAFile: "system",
	TopicARN:       func(name string) string { return "arn:aws:sns:eu-west-1:111111111111:" + name },
	QueueURL:       func(name string) string { return "https://sqs.eu-west-1.amazonaws.com/111111111111/" + name },
	TracesEndpoint: "https://xray.eu-west-1.amazonaws.com/v1/traces", TraceSampleRatio: 0.05,
}

// EnvironmentProblems checks a service's settings reader against the environment ECS gives it
// (manifest.Environment, which the infrastructure sets): read runs the service's reader on getenv and returns it.
// It reports each variable the task definition sets that the service never reads (a misspelt name in the code,
// or a topic or queue in the manifest the service does not use) and each variable the service requires that the
// task definition does not set, naming infra/services.yaml and the key the variable comes from. Each service's
// tests call it, so such a mistake fails `make test` instead of the first deploy.
func EnvironmentProblems(m *manifest.Manifest, command string, read func(getenv func(string) string) *config.Reader) []string {
	all := slices.Clone(m.Services)
	for _, j := range m.Jobs {
		all = append(all, j.Service())
	}
	i := slices.IndexFunc(all, func(s manifest.Service) bool { return s.Command == command })
	if i < 0 {
		return []string{fmt.Sprintf("infra/services.yaml: no service or job has command %q", command)}
	}
	s := all[i]
	entry := "services." + s.Name
	if s.Kind == manifest.KindJob {
		entry = "jobs." + s.Name
	}
	env := manifest.Environment(s, placeholders)
	for k := range manifest.SecretEnvironment(s) {
		env[k] = "placeholder-secret" // set by ECS from Secrets Manager
	}
	r := read(func(k string) string { return env[k] })
	used := r.Read()
	var problems []string
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !slices.Contains(used, k) {
			problems = append(problems, fmt.Sprintf("%s: the task definition sets %s, which the %s "+
				"%s never reads: read it with that exact name, or remove the entry it comes from", manifest.Source(s, k), k, s.Name, kindWord(s.Kind)))
		}
	}
	for _, k := range r.Missing() {
		problems = append(problems, fmt.Sprintf("infra/services.yaml: %s: the %s %s requires %s, which its "+
			"task definition does not set: fix the name in the code, or declare the topic (publishes), queue (consumes, "+
			"sends) or secret (secrets) it stands for", entry, s.Name, kindWord(s.Kind), k))
	}
	return problems
}

func kindWord(k manifest.Kind) string {
	if k == manifest.KindJob {
		return "job"
	}
	return "service"
}
