package preflight

import (
	"fmt"
	"regexp"
	"strings"
)

// placeholder patterns: values that only examples use and that no real deployment can carry.
var (
	// accountLike matches 12-digit AWS account IDs inside ARNs and similar strings.
	accountLike = regexp.MustCompile(`(^|[^0-9])([0-9]{12})([^0-9]|$)`)
	// exampleDomain matches the domains reserved for documentation (example.com, .org, .net).
	exampleDomain = regexp.MustCompile(`(?i)(^|[.@/])example\.(com|org|net)\.?($|[/:"\s])`)
	// zeroUUID matches a UUID whose first 28 hex digits are zero (00000000-0000-0000-0000-0000000000xx).
	zeroUUID = regexp.MustCompile(`(?i)00000000-0000-0000-0000-00000000[0-9a-f]{4}`)
	// exampleZone matches a Route 53 hosted zone ID that carries EXAMPLE, as documentation's do.
	exampleZone = regexp.MustCompile(`\bZ[0-9A-Z]*EXAMPLE\b`)
)

// placeholderAccount reports whether a 12-digit account ID is an example: one digit repeated
// (111111111111, 000000000000) or the counting sequences documentation shows (012345678901, 123456789012).
func placeholderAccount(id string) bool {
	if len(id) != 12 {
		return false
	}
	if strings.Count(id, id[:1]) == 12 {
		return true
	}
	return id == "012345678901" || id == "123456789012"
}

// placeholdersRule (deploy only): an AWS account ID is "a 12-digit number, such as 012345678901, that uniquely
// identifies an AWS account" (AWS Account Management, View AWS account identifiers,
// https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-identifiers.html). Example values copied
// from documentation (repeated-digit or counting account IDs, EXAMPLE hosted zones, example.com/.org/.net
// names, all-zero UUIDs in ARNs) name nothing the deploying account owns, so the resources that use them fail
// to create (a certificate ARN in another account) or route nowhere. Outside deploy mode they are notices:
// synthesis and tests legitimately use them.
var placeholdersRule = Rule{
	ID:         "placeholders",
	Summary:    "No example values (accounts, hosted zones, example.com names, zero UUIDs) in a deployed environment.",
	Source:     "https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-identifiers.html",
	DeployOnly: true,
	check: func(c *check) {
		for _, sn := range c.env {
			s := c.asm.Stacks[sn]
			if placeholderAccount(s.Account) {
				c.fail(sn, "", "the manifest deploys the stack to account %s (aws://%s/%s), an example account ID.", s.Account, s.Account, s.Region)
			}
			for _, id := range sortedKeys(s.Template.Resources) {
				seen := map[string]bool{}
				walkStrings(s.Template.Resources[id].Properties, func(v string) {
					for _, why := range placeholderReasons(v) {
						if !seen[why] {
							seen[why] = true
							c.fail(sn, id, "%s in %q: replace it with the environment's real value before deploying.", why, v)
						}
					}
				})
			}
		}
	},
}

// placeholderReasons says why v looks like an example value (nothing when it does not).
func placeholderReasons(v string) []string {
	var out []string
	for _, m := range accountLike.FindAllStringSubmatch(v, -1) {
		if placeholderAccount(m[2]) {
			out = append(out, fmt.Sprintf("example account ID %s", m[2]))
		}
	}
	if m := exampleZone.FindString(v); m != "" {
		out = append(out, fmt.Sprintf("example hosted zone ID %s", m))
	}
	switch {
	case exampleDomain.MatchString(v) && strings.Contains(v, "@"):
		// An alarm subscription there never confirms, so its alarms reach no one (RFC 2606 reserves the domains,
		// https://www.rfc-editor.org/rfc/rfc2606).
		out = append(out, "an e-mail address at a documentation domain (example.com, example.org, example.net), where no mail is delivered")
	case exampleDomain.MatchString(v):
		out = append(out, "a name under a documentation domain (example.com, example.org, example.net)")
	}
	if m := zeroUUID.FindString(v); m != "" {
		out = append(out, fmt.Sprintf("all-zero UUID %s", m))
	}
	return out
}

// walkStrings calls f for every string inside v.
func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			walkStrings(x[k], f)
		}
	}
}
