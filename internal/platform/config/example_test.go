package config_test

import (
	"fmt"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
)

// A binary reads its configuration once, in run, and reports every problem together.
func ExampleReader() {
	getenv := func(k string) string {
		return map[string]string{"HTTP_ADDR": ":8080", "SHUTDOWN_TIMEOUT": "forever"}[k]
	}
	r := config.NewReader(getenv)
	addr := r.String("HTTP_ADDR", ":8080")
	timeout := r.Duration("SHUTDOWN_TIMEOUT", 20*time.Second, time.Second, 110*time.Second)
	region := r.Required("AWS_REGION")
	fmt.Println(addr, timeout, region == "")
	fmt.Println(r.Err())
	// Output:
	// :8080 20s true
	// configuration: SHUTDOWN_TIMEOUT: "forever" is not a duration such as 30s or 1m
	// AWS_REGION: required
}
