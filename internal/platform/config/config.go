// Package config reads a service's configuration from environment variables, once, in cmd/*.
//
// A Reader collects every problem (a required variable unset, a value that does not parse or is out of range)
// and reports them all in one error naming each variable and the reason, so a broken task definition is fixed
// in one deploy rather than one variable at a time. It remembers every variable it read so that the effective
// configuration can be logged at start-up, with secrets masked.
//
// The Reader takes a getenv function rather than reading os.Getenv itself: main passes os.Getenv, tests a map.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Secret is a configuration value that must never be printed: its String, GoString, LogValue and JSON forms
// are masked. Reveal returns the value itself.
type Secret string

const masked = "xxxxx"

// Reveal returns the secret's value, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// String masks the secret.
func (s Secret) String() string { return mask(s) }

// GoString masks the secret in %#v.
func (s Secret) GoString() string { return mask(s) }

// LogValue masks the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(mask(s)) }

// MarshalText masks the secret in JSON and other text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(mask(s)), nil }

func mask(s Secret) string {
	if s == "" {
		return ""
	}
	return masked
}

// Reader reads environment variables and collects their problems.
type Reader struct {
	getenv func(string) string
	errs   []error
	seen   []entry
}

type entry struct {
	key      string
	value    string
	secret   bool
	isSet    bool
	required bool
}

// NewReader returns a Reader over getenv (os.Getenv in main).
func NewReader(getenv func(string) string) *Reader { return &Reader{getenv: getenv} }

// lookup returns the variable's value, trimmed, and records it for logging.
func (r *Reader) lookup(key string, secret bool) (string, bool) {
	v := strings.TrimSpace(r.getenv(key))
	r.seen = append(r.seen, entry{key: key, value: v, secret: secret, isSet: v != ""})
	return v, v != ""
}

// Fail records a problem with key; the reason says what is wrong and what is expected.
func (r *Reader) Fail(key, reason string) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", key, reason))
}

// Check records a problem with key when ok is false.
func (r *Reader) Check(ok bool, key, reason string) {
	if !ok {
		r.Fail(key, reason)
	}
}

// Err returns every problem found so far in one error, or nil.
func (r *Reader) Err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %w", errors.Join(r.errs...))
}

// String returns the variable's value, or def when it is unset.
func (r *Reader) String(key, def string) string {
	if v, ok := r.lookup(key, false); ok {
		return v
	}
	return def
}

// Required returns the variable's value and records a problem when it is unset.
func (r *Reader) Required(key string) string {
	v, ok := r.lookup(key, false)
	r.seen[len(r.seen)-1].required = true
	if !ok {
		r.Fail(key, "required")
	}
	return v
}

// Read returns the name of every variable read so far, once each, in the order first read: what the service
// reads, whatever the environment holds.
func (r *Reader) Read() []string {
	var keys []string
	for _, e := range r.seen {
		if !slices.Contains(keys, e.key) {
			keys = append(keys, e.key)
		}
	}
	return keys
}

// Missing returns the name of every variable read as required and found unset.
func (r *Reader) Missing() []string {
	var keys []string
	for _, e := range r.seen {
		if e.required && !e.isSet && !slices.Contains(keys, e.key) {
			keys = append(keys, e.key)
		}
	}
	return keys
}

// Secret returns the variable's value as a Secret ("" when unset; check it with Check when it is needed).
func (r *Reader) Secret(key string) Secret {
	v, _ := r.lookup(key, true)
	return Secret(v)
}

// RequiredSecret returns the variable's value as a Secret and records a problem when it is unset.
func (r *Reader) RequiredSecret(key string) Secret {
	v, ok := r.lookup(key, true)
	r.seen[len(r.seen)-1].required = true
	if !ok {
		r.Fail(key, "required (a secret: infra/services.yaml, the service's secrets)")
	}
	return Secret(v)
}

// OneOf returns the variable's value, or def when it is unset, and records a problem when the value is not
// one of allowed.
func (r *Reader) OneOf(key, def string, allowed ...string) string {
	v, ok := r.lookup(key, false)
	if !ok {
		return def
	}
	if !slices.Contains(allowed, v) {
		r.Fail(key, fmt.Sprintf("%q must be one of %s", v, strings.Join(allowed, ", ")))
	}
	return v
}

// Int returns the variable as an integer between lo and hi, or def when it is unset.
func (r *Reader) Int(key string, def, lo, hi int) int {
	v, ok := r.lookup(key, false)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		r.Fail(key, fmt.Sprintf("%q is not an integer", v))
		return def
	case n < lo || n > hi:
		r.Fail(key, fmt.Sprintf("%d must be between %d and %d", n, lo, hi))
	}
	return n
}

// Bool returns the variable as a boolean (true/false, 1/0, as strconv.ParseBool), or def when it is unset.
func (r *Reader) Bool(key string, def bool) bool {
	v, ok := r.lookup(key, false)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.Fail(key, fmt.Sprintf("%q must be true or false", v))
		return def
	}
	return b
}

// Duration returns the variable as a Go duration ("20s", "1m30s") between lo and hi, or def when it is unset.
func (r *Reader) Duration(key string, def, lo, hi time.Duration) time.Duration {
	v, ok := r.lookup(key, false)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		r.Fail(key, fmt.Sprintf("%q is not a duration such as 30s or 1m", v))
		return def
	case d < lo || d > hi:
		r.Fail(key, fmt.Sprintf("%s must be between %s and %s", d, lo, hi))
	}
	return d
}

// URL returns the variable as an absolute URL, or nil when it is unset; required records a problem then.
func (r *Reader) URL(key string, required bool) *url.URL {
	v, ok := r.lookup(key, false)
	if required {
		r.seen[len(r.seen)-1].required = true
	}
	if !ok {
		if required {
			r.Fail(key, "required")
		}
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		r.Fail(key, fmt.Sprintf("%q is not an absolute URL", v))
		return nil
	}
	return u
}

// LogValue lists every variable read, in the order read, with secrets masked and unset ones marked, for one
// start-up log line.
func (r *Reader) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(r.seen))
	done := map[string]bool{}
	for _, e := range r.seen {
		if done[e.key] {
			continue
		}
		done[e.key] = true
		v := e.value
		switch {
		case !e.isSet:
			v = "(unset)"
		case e.secret:
			v = masked
		}
		attrs = append(attrs, slog.String(e.key, v))
	}
	return slog.GroupValue(attrs...)
}
