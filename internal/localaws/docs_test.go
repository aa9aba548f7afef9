package localaws_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestOrganisationDocumented keeps the section of docs/localaws.md on how the
// package is organised true: every file it names exists, and every source
// file of the package is named there or in the package documentation.
func TestOrganisationDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "localaws.md"))
	if err != nil {
		t.Fatal(err)
	}
	pkgDoc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	section := string(doc)
	start := strings.Index(section, "## How the package is organised")
	if start < 0 {
		t.Fatal(`docs/localaws.md has no section "How the package is organised"`)
	}
	section = section[start:]
	if end := strings.Index(section[1:], "\n## "); end >= 0 {
		section = section[:end+1]
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z_]+\\.go)`").FindAllStringSubmatch(section, -1) {
		named[m[1]] = true
		if _, err := os.Stat(m[1]); err != nil {
			t.Errorf("docs/localaws.md names %s, which does not exist", m[1])
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "doc.go" {
			continue
		}
		if !named[f] && !regexp.MustCompile(`\b`+regexp.QuoteMeta(f)).Match(pkgDoc) {
			t.Errorf("%s is named neither in docs/localaws.md (How the package is organised) nor in doc.go", f)
		}
	}
}
