package health

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// HealthcheckFlag is the argument that makes a service binary probe its own /healthz and exit instead of
// serving: `/app/ecsr api -healthcheck`. The task definition's container health check runs it, because the
// distroless image has no shell and no curl.
const HealthcheckFlag = "-healthcheck"

// ProbeTimeout bounds one probe. The container health check's own timeout (infra/construct/service) is longer,
// so the binary reports the failure itself rather than being killed by ECS.
const ProbeTimeout = 3 * time.Second

// Probe asks the server listening on addr (HTTP_ADDR: ":8080", "0.0.0.0:8080" or "host:port") for /healthz
// over loopback and returns nil when it answers 200. A host in addr other than loopback is ignored: the probe
// runs inside the container, next to the server.
func Probe(ctx context.Context, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: HTTP_ADDR %q is not host:port: %w", addr, err)
	}
	if port == "" || port == "0" {
		return fmt.Errorf("healthcheck: HTTP_ADDR %q names no fixed port to probe", addr)
	}
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	url := "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s answered %d", url, resp.StatusCode)
	}
	return nil
}

// HealthcheckMain runs the -healthcheck mode when args (os.Args[1:]) ask for it: it probes the address of
// HTTP_ADDR (defaultAddr when unset), prints a failure to stderr, and returns the exit code (0 healthy, 1
// not) and true. It returns false, doing nothing, when args do not ask for it.
func HealthcheckMain(args []string, getenv func(string) string, defaultAddr string, stderr io.Writer) (int, bool) {
	if len(args) != 1 || args[0] != HealthcheckFlag {
		return 0, false
	}
	addr := getenv("HTTP_ADDR")
	if addr == "" {
		addr = defaultAddr
	}
	if err := Probe(context.Background(), addr); err != nil {
		fmt.Fprintln(stderr, err)
		return 1, true
	}
	return 0, true
}

// ExitOnHealthcheck is HealthcheckMain for a main function: it exits the process when args ask for the
// -healthcheck mode and returns otherwise.
func ExitOnHealthcheck(defaultAddr string) {
	if code, ok := HealthcheckMain(os.Args[1:], os.Getenv, defaultAddr, os.Stderr); ok {
		os.Exit(code)
	}
}
