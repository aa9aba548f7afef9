package preflight

import (
	"testing"
)

func TestPlaceholders(t *testing.T) {
	value := func(v string) string {
		return `{"Resources":{"R":{"Type":"AWS::Test::Thing","Properties":{"Value":` + v + `}}}}`
	}
	deploy := Options{Deploy: true}
	runCases(t, placeholdersRule, []ruleCase{
		{name: "certificate in account 111111111111", opts: deploy, stacks: []testStack{{name: "ecsr-dev-a",
			template: value(`"arn:aws:acm:eu-west-1:111111111111:certificate/6f1e8a4c-2b3d-4e5f-8a9b-0c1d2e3f4a5b"`)}},
			want: []string{"ecsr-dev-a/R"}},
		{name: "account 000000000000 inside a join", opts: deploy, stacks: []testStack{{name: "ecsr-dev-a",
			template: value(`{"Fn::Join":["",["arn:aws:iam::000000000000:role/",{"Ref":"X"}]]}`)}}, want: []string{"ecsr-dev-a/R"}},
		{name: "EXAMPLE hosted zone", opts: deploy, stacks: []testStack{{name: "ecsr-dev-a", template: value(`"Z0123456789EXAMPLE"`)}},
			want: []string{"ecsr-dev-a/R"}},
		{name: "example.org name", opts: deploy, stacks: []testStack{{name: "ecsr-dev-a", template: value(`"shop.example.org."`)}},
			want: []string{"ecsr-dev-a/R"}},
		{name: "zero UUID", opts: deploy, stacks: []testStack{{name: "ecsr-dev-a",
			template: value(`"arn:aws:acm:us-east-1:210987654321:certificate/00000000-0000-0000-0000-000000000002"`)}},
			want: []string{"ecsr-dev-a/R"}},
		{name: "real-looking values", opts: deploy, stacks: []testStack{{name: "ecsr-dev-a",
			template: value(`["arn:aws:acm:eu-west-1:210987654321:certificate/6f1e8a4c-2b3d-4e5f-8a9b-0c1d2e3f4a5b","Z04512341ABCDEF","shop.examples.com","notexample.com"]`)}}},
	})
}

func TestPlaceholderAccountInManifest(t *testing.T) {
	asm := newAssembly(t, testStack{name: "ecsr-dev-a", template: `{"Resources":{}}`})
	asm.Stacks["ecsr-dev-a"].Account = "111111111111"
	got, _ := runRule(t, placeholdersRule, asm, Options{Deploy: true})
	if len(got) != 1 || got[0] != "ecsr-dev-a/" {
		t.Errorf("findings = %v; want one on the stack (the manifest's account)", got)
	}
}

// TestPlaceholdersAreNoticesOutsideDeployMode runs the whole report: placeholder findings fail only with
// Deploy.
func TestPlaceholdersAreNoticesOutsideDeployMode(t *testing.T) {
	asm := newAssembly(t, testStack{name: "ecsr-dev-a",
		template: `{"Resources":{"R":{"Type":"AWS::Test::Thing","Properties":{"Domain":"shop.example.com"}}}}`})
	for _, deploy := range []bool{false, true} {
		r, err := Run(asm, Options{Env: "dev", Deploy: deploy})
		if err != nil {
			t.Fatal(err)
		}
		fails, notes := len(r.Findings), len(r.Notices)
		if deploy && (fails != 1 || notes != 0) || !deploy && (fails != 0 || notes != 1) {
			t.Errorf("Run(Deploy: %v) = %d findings, %d notices; want the placeholder as a %s", deploy, fails, notes,
				map[bool]string{true: "finding", false: "notice"}[deploy])
		}
	}
}
