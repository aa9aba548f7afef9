package boot

import "time"

// ShutdownBudget splits a service's SHUTDOWN_TIMEOUT among the parts that drain, in the order they drain: the
// HTTP server and the consumer first (the work in hand finishes), then the relay (the events that work wrote
// are published by this task instead of waiting for another). Each part's drain plus the relay's fits the
// total, so the task exits before ECS's stop timeout kills it.
type ShutdownBudget struct {
	// Delay is how long a web service keeps serving after reporting not ready, so that the load balancer
	// stops routing to it first: a tenth.
	Delay time.Duration
	// HTTP is the HTTP server's whole drain, Delay included: what the relay leaves.
	HTTP time.Duration
	// Consumer bounds the wait for messages in hand: half.
	Consumer time.Duration
	// Relay bounds the final publishing, which starts once the HTTP server or the consumer has drained: a fifth.
	Relay time.Duration
}

// SplitShutdown returns the budget of a service whose SHUTDOWN_TIMEOUT is total.
func SplitShutdown(total time.Duration) ShutdownBudget {
	relay := total / 5
	return ShutdownBudget{Delay: total / 10, HTTP: total - relay, Consumer: total / 2, Relay: relay}
}
