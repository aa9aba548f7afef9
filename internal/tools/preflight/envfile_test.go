package preflight

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestEnvironmentFilePlaceholders(t *testing.T) {
	const file = `name: prod
account: "333333333333"
region: eu-west-1
domain:
  name: shop.example.com
  hosted_zone_id: Z0123456789EXAMPLE
  alb_certificate_arn: arn:aws:acm:eu-west-1:210987654321:certificate/00000000-0000-0000-0000-000000000001
image:
  repository: ecs-reworked
  account: "123456789012"
alarms:
  emails: [ops@shop.test, Alerts@Mail.Example.ORG]
`
	got, err := EnvironmentFilePlaceholders("infra/environments/prod.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range got {
		paths = append(paths, f.Path)
		if f.Rule != "placeholders" || f.Source == "" || f.Stack != "infra/environments/prod.yaml" {
			t.Errorf("finding %+v lacks the rule, source or file", f)
		}
	}
	want := []string{
		"infra/environments/prod.yaml:2 account",
		"infra/environments/prod.yaml:5 domain.name",
		"infra/environments/prod.yaml:6 domain.hosted_zone_id",
		"infra/environments/prod.yaml:7 domain.alb_certificate_arn", // the all-zero certificate ID, in a real-looking account
		"infra/environments/prod.yaml:10 image.account",
		"infra/environments/prod.yaml:12 alarms.emails[1]", // RFC 2606: no mail is delivered there
	}
	if m := got[len(got)-1].Message; !strings.Contains(m, "e-mail address at a documentation domain") {
		t.Errorf("the alarm address finding says %q; want it to say no mail is delivered there", m)
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("placeholders at\n%s\nwant\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}

	clean := strings.NewReplacer(`"333333333333"`, `"210987654321"`, "shop.example.com", "shop.acme.test",
		"Z0123456789EXAMPLE", "Z04111111ABCDEFGHIJK", "00000000-0000-0000-0000-000000000001", "5f1c2d3e-aaaa-4bbb-8ccc-0123456789ab",
		`"123456789012"`, `"210987654322"`, "Alerts@Mail.Example.ORG", "alerts@acme.test").Replace(file)
	if got, err := EnvironmentFilePlaceholders("prod.yaml", []byte(clean)); err != nil || len(got) > 0 {
		t.Errorf("real values: %v, %+v; want no finding", err, got)
	}
	if _, err := EnvironmentFilePlaceholders("bad.yaml", []byte("a: [")); err == nil {
		t.Error("a file that is not YAML gave no error")
	}
}

// TestRepositoryAlarmAddressesRefused: an alarm topic subscribed only at a documentation domain delivers to no one
// (RFC 2606 reserves example.com/.org/.net, https://www.rfc-editor.org/rfc/rfc2606; an SNS e-mail subscription
// delivers nothing until confirmed, https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html).
// Every environment file of the repository that sends alarms to such an address has it reported in deploy mode by
// file, line and key, so staging and prod cannot be deployed with the example recipient.
func TestRepositoryAlarmAddressesRefused(t *testing.T) {
	files, err := filepath.Glob("../../../infra/environments/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	example := regexp.MustCompile(`(?i)@([a-z0-9-]+\.)*example\.(com|org|net)\b`)
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		found, err := EnvironmentFilePlaceholders(f, data)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range lines {
			if !strings.Contains(line, "emails:") || !example.MatchString(line) {
				continue
			}
			checked++
			want := regexp.MustCompile(`^` + regexp.QuoteMeta(f) + `:` + strconv.Itoa(i+1) + ` alarms\.emails\[[0-9]+\]$`)
			ok := false
			for _, fd := range found {
				ok = ok || want.MatchString(fd.Path)
			}
			if !ok {
				t.Errorf("%s:%d sends alarms to a documentation domain (%s); deploy mode does not report it", f, i+1, strings.TrimSpace(line))
			}
		}
	}
	t.Logf("%d alarm address line(s) at a documentation domain, each reported", checked)
}
