// Package schedule reads the schedule expressions of scheduled jobs (infra/services.yaml, jobs) as EventBridge
// Scheduler reads them, so that a job's schedule is checked before a deploy and `make up` runs the job on the
// same schedule. Expressions are rate(value unit) or cron(minutes hours day-of-month month day-of-week year), in
// UTC (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html;
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html for the fields).
package schedule

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule tells when a job runs next.
type Schedule interface {
	// Next returns the first time after t the job runs.
	Next(t time.Time) time.Time
}

var (
	rateRE = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)
	cronRE = regexp.MustCompile(`^cron\((.+)\)$`)
)

// Validate reports why expr is not a schedule expression EventBridge Scheduler accepts for a recurring schedule,
// or nil.
func Validate(expr string) error {
	if m := rateRE.FindStringSubmatch(expr); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 {
			return fmt.Errorf("%q: the rate's value must be a positive whole number", expr)
		}
		// "If the value is equal to 1, then the unit must be singular ... If the value is greater than 1, the unit
		// must be plural" (eb-scheduled-rule-pattern.html, rate expressions).
		if plural := strings.HasSuffix(m[2], "s"); plural != (n > 1) {
			return fmt.Errorf("%q: the unit is singular for a value of 1 and plural above (rate(1 hour), rate(2 hours))", expr)
		}
		return nil
	}
	m := cronRE.FindStringSubmatch(expr)
	if m == nil {
		return fmt.Errorf("%q: want rate(value unit), such as rate(1 hour), or cron(minutes hours day-of-month month day-of-week year), such as cron(0 3 * * ? *)", expr)
	}
	f := strings.Fields(m[1])
	if len(f) != 6 {
		return fmt.Errorf("%q: a cron expression has six fields (minutes hours day-of-month month day-of-week year); it has %d", expr, len(f))
	}
	// "You can't specify the Day-of-month and Day-of-week fields in the same cron expression. If you specify a
	// value or a * (asterisk) in one of the fields, you must use a ? (question mark) in the other."
	if (f[2] == "?") == (f[4] == "?") {
		return fmt.Errorf("%q: exactly one of day-of-month (%s) and day-of-week (%s) must be ?", expr, f[2], f[4])
	}
	return nil
}

// Parse returns the schedule of expr for running it locally. It supports what Validate accepts except the L, W
// and # wildcards and a year other than *, which make up cannot follow: it says so, and such a job runs on
// demand only (make job).
func Parse(expr string) (Schedule, error) {
	if err := Validate(expr); err != nil {
		return nil, err
	}
	if m := rateRE.FindStringSubmatch(expr); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[m[2][0]]
		return cron.Every(time.Duration(n) * unit), nil
	}
	f := strings.Fields(cronRE.FindStringSubmatch(expr)[1])
	if f[5] != "*" {
		return nil, fmt.Errorf("%q: make up runs cron schedules whose year is *; run this job with make job", expr)
	}
	if strings.ContainsAny(f[2]+f[4], "LW#") {
		return nil, fmt.Errorf("%q: make up does not follow the L, W and # wildcards; run this job with make job", expr)
	}
	dow, err := weekdaysFromZero(f[4])
	if err != nil {
		return nil, fmt.Errorf("%q: %w", expr, err)
	}
	s, err := cron.ParseStandard(strings.Join([]string{f[0], f[1], f[2], f[3], dow}, " "))
	if err != nil {
		return nil, fmt.Errorf("%q: %w", expr, err)
	}
	return utc{s}, nil
}

// weekdaysFromZero renumbers the day-of-week field from EventBridge's 1-7 (SUN-SAT) to cron's 0-6; names and
// wildcards stay.
func weekdaysFromZero(field string) (string, error) {
	var err error
	renumber := func(part string) string {
		return digits.ReplaceAllStringFunc(part, func(d string) string {
			n, _ := strconv.Atoi(d)
			if n < 1 || n > 7 {
				err = fmt.Errorf("day-of-week %d is outside 1-7 (SUN-SAT)", n)
				return d
			}
			return strconv.Itoa(n - 1)
		})
	}
	parts := strings.Split(field, ",")
	for i, p := range parts {
		value, step, stepped := strings.Cut(p, "/") // a step ("/2") counts days, not a day: it stays
		parts[i] = renumber(value)
		if stepped {
			parts[i] += "/" + step
		}
	}
	return strings.Join(parts, ","), err
}

var digits = regexp.MustCompile(`\d+`)

// utc evaluates a cron schedule in UTC, as EventBridge Scheduler does by default.
type utc struct{ s cron.Schedule }

func (u utc) Next(t time.Time) time.Time { return u.s.Next(t.UTC()) }
