package config

import (
	"strings"
	"testing"
)

func TestReleaseValidation(t *testing.T) {
	for _, tc := range []struct {
		name       string
		production bool
		r          *Release
		want       string // a problem key, or "" for none
	}{
		{"absent: default", true, nil, ""},
		{"blue/green", false, &Release{Strategy: ReleaseBlueGreen, BakeMinutes: 2}, ""},
		{"canary", true, &Release{Strategy: ReleaseCanary, StepPercent: 10, StepBakeMinutes: 5, BakeMinutes: 15}, ""},
		{"linear", false, &Release{Strategy: ReleaseLinear, StepPercent: 25, StepBakeMinutes: 2}, ""},
		{"unknown strategy", false, &Release{Strategy: "rolling"}, "release.strategy"},
		{"steps on blue/green", false, &Release{Strategy: ReleaseBlueGreen, StepPercent: 10}, "release.step_percent"},
		{"linear step too small", false, &Release{Strategy: ReleaseLinear, StepPercent: 2, StepBakeMinutes: 1}, "release.step_percent"},
		{"step not in tenths", false, &Release{Strategy: ReleaseCanary, StepPercent: 0.15}, "release.step_percent"},
		{"step bake too long", false, &Release{Strategy: ReleaseCanary, StepPercent: 5, StepBakeMinutes: 1441}, "release.step_bake_minutes"},
		{"bake negative", false, &Release{Strategy: ReleaseBlueGreen, BakeMinutes: -1}, "release.bake_minutes"},
		{"production bake too short", true, &Release{Strategy: ReleaseBlueGreen, BakeMinutes: 2}, "release.bake_minutes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &Environment{Production: tc.production, Release: tc.r}
			var c checker
			e.validateRelease(&c)
			var keys []string
			for _, p := range c.problems {
				keys = append(keys, p.Key+": "+p.Reason)
			}
			got := strings.Join(keys, "; ")
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("problems %q; want %q", got, tc.want)
			}
		})
	}
	if got := (&Environment{}).ReleaseSettings(); got != DefaultRelease {
		t.Errorf("ReleaseSettings without a section = %v; want %v", got, DefaultRelease)
	}
}
