package schedule

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	for _, ok := range []string{"rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(2 days)", "cron(0 3 * * ? *)",
		"cron(15 10 ? * MON-FRI *)", "cron(0 8 1 * ? 2027)", "cron(0/15 * * * ? *)", "cron(0 9 ? * 2#1 *)"} {
		if err := Validate(ok); err != nil {
			t.Errorf("Validate(%s) = %v; want nil", ok, err)
		}
	}
	for expr, want := range map[string]string{
		"rate(1 minutes)":     "singular for a value of 1",
		"rate(5 minute)":      "singular for a value of 1",
		"rate(0 minutes)":     "positive whole number",
		"rate(1 second)":      "want rate(value unit)",
		"every hour":          "want rate(value unit)",
		"cron(0 3 * * *)":     "six fields",
		"cron(0 3 * * * *)":   "exactly one of day-of-month (*) and day-of-week (*) must be ?",
		"cron(0 3 ? * ? *)":   "exactly one of day-of-month",
		"cron(0 3 1 * MON *)": "exactly one of day-of-month",
	} {
		if err := Validate(expr); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%s) = %v; want an error containing %q", expr, err, want)
		}
	}
}

func TestNext(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	from := at("2026-12-04T10:07:30Z") // a Friday
	for expr, want := range map[string]string{
		"rate(5 minutes)":         "2026-12-04T10:12:30Z",
		"cron(0 3 * * ? *)":       "2026-12-05T03:00:00Z",
		"cron(0/15 * * * ? *)":    "2026-12-04T10:15:00Z",
		"cron(0 9 ? * MON-FRI *)": "2026-12-07T09:00:00Z",
		"cron(0 9 ? * 2-6 *)":     "2026-12-07T09:00:00Z", // 2-6 is MON-FRI in EventBridge's numbering
		"cron(0 9 ? * 1 *)":       "2026-12-06T09:00:00Z", // 1 is Sunday
		"cron(0 9 ? * 1/3 *)":     "2026-12-05T09:00:00Z", // from Sunday, every third day: SUN, WED, SAT
	} {
		s, err := Parse(expr)
		if err != nil {
			t.Errorf("Parse(%s) = %v", expr, err)
			continue
		}
		if got := s.Next(from).UTC().Format(time.RFC3339); got != want {
			t.Errorf("%s after %s = %s; want %s", expr, from.Format(time.RFC3339), got, want)
		}
	}
	for _, expr := range []string{"cron(0 8 1 * ? 2027)", "cron(0 9 ? * 2#1 *)", "cron(0 9 L * ? *)"} {
		if _, err := Parse(expr); err == nil || !strings.Contains(err.Error(), "make job") {
			t.Errorf("Parse(%s) = %v; want an error saying make up runs it on demand only", expr, err)
		}
	}
}
