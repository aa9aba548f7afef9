package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/tools/cost"
)

// TestCostEstimateOfEveryEnvironment runs the cost estimate (what `make cost` prints) on a fresh synthesis of
// every shipped environment, and checks that the resources that dominate the bill are priced.
func TestCostEstimateOfEveryEnvironment(t *testing.T) {
	matches, err := filepath.Glob(filepath.Join("..", "..", "docs", "pricing", "*.yaml"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no price table in docs/pricing: %v", err)
	}
	data, err := os.ReadFile(matches[len(matches)-1])
	if err != nil {
		t.Fatal(err)
	}
	prices, err := cost.DecodePrices(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range environments {
		t.Run(env, func(t *testing.T) {
			s := synth(t, env)
			templates := map[string]cost.Template{}
			for _, name := range s.stackNames() {
				b, err := json.Marshal(s.templates[name].raw)
				if err != nil {
					t.Fatal(err)
				}
				var tmpl cost.Template
				if err := json.Unmarshal(b, &tmpl); err != nil {
					t.Fatal(err)
				}
				templates[name] = tmpl
			}
			lines, assumptions := cost.Estimate(templates, prices, cost.DefaultAssumptions)
			var total float64
			priced := map[string]bool{}
			for _, l := range lines {
				if l.Monthly < 0 {
					t.Errorf("%s: negative monthly cost %.2f", l.Item, l.Monthly)
				}
				total += l.Monthly
				kind, _, _ := strings.Cut(l.Item, " ")
				priced[kind] = priced[kind] || l.Monthly > 0
			}
			for _, kind := range []string{"Fargate", "RDS", "NAT", "Load", "CloudFront", "WAF", "KMS"} {
				if !priced[kind] {
					t.Errorf("no %s line with a cost in the %s estimate", kind, env)
				}
			}
			if total <= 0 || len(assumptions) == 0 {
				t.Errorf("estimate for %s: total %.2f with %d assumptions; want a positive total and its assumptions", env, total, len(assumptions))
			}
		})
	}
}
