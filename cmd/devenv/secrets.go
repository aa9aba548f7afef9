package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// secretOverride is the variable of devenv's own environment that overrides a secret's file: SECRET_, the
// service's name and the secret's variable, "SECRET_SHIPPING_CARRIER_API_KEY".
func secretOverride(service, secret string) string {
	return "SECRET_" + strings.ToUpper(strings.ReplaceAll(service, "-", "_")) + "_" + manifest.SecretEnv(secret)
}

// secretEnvironment returns the variables of svc's secrets, as ECS sets them from Secrets Manager on AWS: each
// from devenv's environment (secretOverride), else from the file <secrets>/<service>/<secret>, which is created
// with a random value (mode 0600) the first time so that the service starts; the value is never printed.
func secretEnvironment(cfg config, svc manifest.Service, out *syncWriter) ([]string, error) {
	var env []string
	for _, sec := range svc.Secrets {
		if v := cfg.secretEnv(secretOverride(svc.Name, sec)); v != "" {
			env = append(env, manifest.SecretEnv(sec)+"="+v)
			continue
		}
		path := filepath.Join(cfg.secrets, svc.Name, sec)
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			b = []byte(randomSecret())
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, fmt.Errorf("secret %s of %s: %w", sec, svc.Name, err)
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				return nil, fmt.Errorf("secret %s of %s: %w", sec, svc.Name, err)
			}
			out.Printf("secret %s of %s: generated a random value in %s; write the real one there (or set %s)\n",
				sec, svc.Name, path, secretOverride(svc.Name, sec))
		case err != nil:
			return nil, fmt.Errorf("secret %s of %s: %w", sec, svc.Name, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return nil, fmt.Errorf("secret %s of %s: %s is empty; write its value there or set %s", sec, svc.Name, path,
				secretOverride(svc.Name, sec))
		}
		env = append(env, manifest.SecretEnv(sec)+"="+v)
	}
	return env, nil
}
