package config

import "fmt"

// Release is how the environment's web services take a new revision: native Amazon ECS deployments
// (docs/releases.md, ADR 0014). Workers always take rolling updates with the circuit breaker.
type Release struct {
	// Strategy is blue_green (all traffic moves at once after the smoke test), canary (StepPercent first, then
	// the rest after StepBakeMinutes) or linear (StepPercent more every StepBakeMinutes).
	Strategy ReleaseStrategy `yaml:"strategy"`
	// BakeMinutes is how long the old revision is kept, ready to take traffic back, after all traffic moved to
	// the new one; a deployment alarm in that time rolls back at once. 0 to 1440.
	BakeMinutes int `yaml:"bake_minutes"`
	// StepPercent and StepBakeMinutes shape canary and linear traffic shifts; unused for blue_green.
	StepPercent     float64 `yaml:"step_percent,omitempty"`
	StepBakeMinutes int     `yaml:"step_bake_minutes,omitempty"`
}

// ReleaseStrategy names a deployment strategy.
type ReleaseStrategy string

// The strategies.
const (
	ReleaseBlueGreen ReleaseStrategy = "blue_green"
	ReleaseCanary    ReleaseStrategy = "canary"
	ReleaseLinear    ReleaseStrategy = "linear"
)

// DefaultRelease is the release of an environment file without a release section: blue/green with a
// 5-minute bake.
var DefaultRelease = Release{Strategy: ReleaseBlueGreen, BakeMinutes: 5}

// ReleaseSettings returns the environment's release settings, DefaultRelease when the file has none.
func (e *Environment) ReleaseSettings() Release {
	if e.Release == nil {
		return DefaultRelease
	}
	return *e.Release
}

// The ranges Amazon ECS accepts, from the DeploymentConfiguration API reference,
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html (bakeTimeInMinutes
// 0-1440) and CDK's TrafficShiftConfig (step bake time 0-1440 minutes; step percent 3.0-100.0 for linear and
// 0.1-100.0 for canary, in multiples of 0.1).
const maxBakeMinutes = 1440

// MinProductionBakeMinutes is the least bake time a production environment accepts: long enough for the
// deployment alarms (3 one-minute periods, 2 breaching) to fire while the old revision can still take traffic back.
const MinProductionBakeMinutes = 10

func (e *Environment) validateRelease(c *checker) {
	if e.Release == nil {
		return
	}
	r := e.Release
	switch r.Strategy {
	case ReleaseBlueGreen:
		c.check(r.StepPercent == 0 && r.StepBakeMinutes == 0, "release.step_percent",
			"is for canary and linear only; blue_green moves all traffic at once")
	case ReleaseCanary, ReleaseLinear:
		lo := 0.1
		if r.Strategy == ReleaseLinear {
			lo = 3
		}
		tenths := r.StepPercent * 10
		c.check(r.StepPercent >= lo && r.StepPercent <= 100 && tenths == float64(int(tenths+0.5)), "release.step_percent",
			"%v must be %v to 100 in steps of 0.1 for %s", r.StepPercent, lo, r.Strategy)
		c.check(r.StepBakeMinutes >= 0 && r.StepBakeMinutes <= maxBakeMinutes, "release.step_bake_minutes",
			"%d must be 0 to %d", r.StepBakeMinutes, maxBakeMinutes)
	default:
		c.bad("release.strategy", "%q is not one of %s, %s, %s", r.Strategy, ReleaseBlueGreen, ReleaseCanary, ReleaseLinear)
	}
	c.check(r.BakeMinutes >= 0 && r.BakeMinutes <= maxBakeMinutes, "release.bake_minutes", "%d must be 0 to %d", r.BakeMinutes, maxBakeMinutes)
	if e.Production {
		c.check(r.BakeMinutes >= MinProductionBakeMinutes, "release.bake_minutes",
			"%d is below the %d minutes a production environment keeps the old revision ready", r.BakeMinutes, MinProductionBakeMinutes)
	}
}

// String describes the release for logs and docs.
func (r Release) String() string {
	if r.Strategy == ReleaseBlueGreen {
		return fmt.Sprintf("%s, bake %d min", r.Strategy, r.BakeMinutes)
	}
	return fmt.Sprintf("%s %.1f%% every %d min, bake %d min", r.Strategy, r.StepPercent, r.StepBakeMinutes, r.BakeMinutes)
}
