package metrics

// Namespace is the CloudWatch namespace of the services' embedded metrics, and ServiceDimension the one
// dimension they carry, valued with the service's name. Alarms on these metrics must use exactly this shape
// (preflight's alarm-dimensions rule checks it).
const (
	Namespace        = "ECSReworked"
	ServiceDimension = "Service"
)
