package metrics

import "time"

// Namespace is the CloudWatch namespace of the services' embedded metrics, and ServiceDimension the one
// dimension they carry, valued with the service's name. Alarms on these metrics must use exactly this shape
// (preflight's alarm-dimensions rule checks it).
const (
	Namespace        = "ECSReworked"
	ServiceDimension = "Service"
)

// FlushInterval is how often a service writes its aggregated metrics (ADR 0003). Ten seconds keeps up to 600
// sampled values a minute per route and task, which the p99 alarms rely on, at a few log lines per flush.
const FlushInterval = 10 * time.Second
