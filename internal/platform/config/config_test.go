package config_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestReaderValues(t *testing.T) {
	r := config.NewReader(env(map[string]string{
		"NAME": " api ", "PORT": "8080", "DEBUG": "true", "WAIT": "1m30s",
		"ENDPOINT": "http://127.0.0.1:4566", "FORMAT": "text", "PASSWORD": "hunter2",
	}))
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"String trims", r.String("NAME", "x"), "api"},
		{"String default", r.String("UNSET", "dflt"), "dflt"},
		{"Required", r.Required("NAME"), "api"},
		{"Int", r.Int("PORT", 1, 1, 65535), 8080},
		{"Int default", r.Int("UNSET", 7, 1, 10), 7},
		{"Bool", r.Bool("DEBUG", false), true},
		{"Bool default", r.Bool("UNSET", true), true},
		{"Duration", r.Duration("WAIT", time.Second, 0, time.Hour), 90 * time.Second},
		{"Duration default", r.Duration("UNSET", time.Second, 0, time.Hour), time.Second},
		{"URL", r.URL("ENDPOINT", true).String(), "http://127.0.0.1:4566"},
		{"URL unset", r.URL("UNSET", false) == nil, true},
		{"OneOf", r.OneOf("FORMAT", "json", "json", "text"), "text"},
		{"OneOf default", r.OneOf("UNSET", "json", "json", "text"), "json"},
		{"Secret", r.Secret("PASSWORD").Reveal(), "hunter2"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v; want %v", tt.name, tt.got, tt.want)
		}
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err() = %v; want nil", err)
	}
}

// Every problem is reported at once, each naming its variable and reason.
func TestReaderCollectsEveryProblem(t *testing.T) {
	r := config.NewReader(env(map[string]string{
		"PORT": "http", "BIG": "70000", "DEBUG": "yes please", "WAIT": "soon", "LONG": "2h",
		"ENDPOINT": "not a url", "FORMAT": "xml",
	}))
	r.Required("HOST")
	r.Int("PORT", 0, 1, 65535)
	r.Int("BIG", 0, 1, 65535)
	r.Bool("DEBUG", false)
	r.Duration("WAIT", 0, 0, time.Hour)
	r.Duration("LONG", 0, 0, time.Hour)
	r.URL("ENDPOINT", false)
	r.URL("QUEUE_URL", true)
	r.OneOf("FORMAT", "json", "json", "text")
	r.Check(false, "DATABASE_PASSWORD", "required unless DATABASE_IAM_AUTH is true")
	err := r.Err()
	if err == nil {
		t.Fatal("Err() = nil; want every problem")
	}
	for _, want := range []string{
		"HOST: required",
		`PORT: "http" is not an integer`,
		"BIG: 70000 must be between 1 and 65535",
		`DEBUG: "yes please" must be true or false`,
		`WAIT: "soon" is not a duration`,
		"LONG: 2h0m0s must be between 0s and 1h0m0s",
		`ENDPOINT: "not a url" is not an absolute URL`,
		"QUEUE_URL: required",
		`FORMAT: "xml" must be one of json, text`,
		"DATABASE_PASSWORD: required unless DATABASE_IAM_AUTH is true",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Err() = %q; want it to contain %q", err, want)
		}
	}
}

// The configuration can be logged: secrets masked wherever they are printed.
func TestSecretsMasked(t *testing.T) {
	r := config.NewReader(env(map[string]string{"DATABASE_PASSWORD": "hunter2", "DATABASE_HOST": "db"}))
	pw := r.Secret("DATABASE_PASSWORD")
	r.String("DATABASE_HOST", "")
	r.Secret("UNSET_SECRET")
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("config", "env", r, "password", pw)
	out := buf.String() + fmt.Sprintf("%v %+v %#v %s", pw, pw, pw, pw)
	if strings.Contains(out, "hunter2") {
		t.Errorf("output reveals the secret: %s", out)
	}
	for _, want := range []string{`"DATABASE_HOST":"db"`, `"DATABASE_PASSWORD":"xxxxx"`, `"UNSET_SECRET":"(unset)"`, `"password":"xxxxx"`} {
		if !strings.Contains(out, want) {
			t.Errorf("logged %s; want it to contain %s", out, want)
		}
	}
}

// Read lists every variable read, set or not, once; Missing the required ones that are unset.
func TestReaderReadAndMissing(t *testing.T) {
	r := config.NewReader(func(k string) string { return map[string]string{"A": "x", "C_URL": "https://c.example"}[k] })
	r.Required("A")
	r.String("B", "def")
	r.URL("C_URL", true)
	r.URL("D_URL", true)
	r.Required("E")
	r.Secret("F")
	r.Required("A")
	if got, want := r.Read(), []string{"A", "B", "C_URL", "D_URL", "E", "F"}; !slices.Equal(got, want) {
		t.Errorf("Read() = %q; want %q", got, want)
	}
	if got, want := r.Missing(), []string{"D_URL", "E"}; !slices.Equal(got, want) {
		t.Errorf("Missing() = %q; want %q", got, want)
	}
}
