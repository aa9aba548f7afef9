package localaws

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
)

// queueConfig holds the settable attributes of a queue.
type queueConfig struct {
	visibility   time.Duration
	delay        time.Duration
	retention    time.Duration
	maxSize      int
	wait         time.Duration
	contentDedup bool
	redrive      *redrivePolicy
	// raw keeps every attribute as last set, for echoing.
	raw map[string]string
}

type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

// defaultQueueConfig is a new queue's configuration: the defaults of the
// CreateQueue attributes
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html).
func defaultQueueConfig() queueConfig {
	return queueConfig{
		visibility: 30 * time.Second,
		retention:  4 * 24 * time.Hour,
		maxSize:    1 << 20,
		raw:        map[string]string{},
	}
}

// defaultAttr is the value an attribute has when it was never set, so that
// CreateQueue of an existing queue can tell "not given" from "different".
func defaultAttr(k string) string {
	switch k {
	case "VisibilityTimeout":
		return "30"
	case "DelaySeconds", "ReceiveMessageWaitTimeSeconds":
		return "0"
	case "MessageRetentionPeriod":
		return "345600"
	case "MaximumMessageSize":
		return "1048576"
	case "ContentBasedDeduplication":
		return "false"
	}
	return ""
}

// queueAttrNames are the attribute names GetQueueAttributes knows;
// readOnlyQueueAttrs are those that cannot be set.
var queueAttrNames = map[string]bool{
	"All": true, "Policy": true, "VisibilityTimeout": true, "MaximumMessageSize": true, "MessageRetentionPeriod": true,
	"ApproximateNumberOfMessages": true, "ApproximateNumberOfMessagesNotVisible": true, "CreatedTimestamp": true,
	"LastModifiedTimestamp": true, "QueueArn": true, "ApproximateNumberOfMessagesDelayed": true, "DelaySeconds": true,
	"ReceiveMessageWaitTimeSeconds": true, "RedrivePolicy": true, "FifoQueue": true, "ContentBasedDeduplication": true,
	"KmsMasterKeyId": true, "KmsDataKeyReusePeriodSeconds": true, "DeduplicationScope": true, "FifoThroughputLimit": true,
	"RedriveAllowPolicy": true, "SqsManagedSseEnabled": true,
}

var readOnlyQueueAttrs = map[string]bool{
	"All": true, "ApproximateNumberOfMessages": true, "ApproximateNumberOfMessagesNotVisible": true, "CreatedTimestamp": true,
	"LastModifiedTimestamp": true, "QueueArn": true, "ApproximateNumberOfMessagesDelayed": true,
}

// selectAttrs returns the named attributes of all ("All" for all), or nil
// when none is known.
func selectAttrs(all map[string]string, names []string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return all
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func intAttr(name, v string, lo, hi int64) (int64, *APIError) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, errInvalidAttributeValue("Invalid value for the parameter %s. Reason: must be an integer from %d to %d.", name, lo, hi)
	}
	return n, nil
}

// durationAttrs are the attributes in seconds: their range and the setting
// they change.
var durationAttrs = map[string]struct {
	lo, hi int64
	field  func(*queueConfig) *time.Duration
}{
	"VisibilityTimeout":             {0, 43200, func(c *queueConfig) *time.Duration { return &c.visibility }},
	"DelaySeconds":                  {0, 900, func(c *queueConfig) *time.Duration { return &c.delay }},
	"MessageRetentionPeriod":        {60, 1209600, func(c *queueConfig) *time.Duration { return &c.retention }},
	"ReceiveMessageWaitTimeSeconds": {0, 20, func(c *queueConfig) *time.Duration { return &c.wait }},
}

func secondsAttr(name, v string, lo, hi int64) (time.Duration, *APIError) {
	n, e := intAttr(name, v, lo, hi)
	return time.Duration(n) * time.Second, e
}

func boolAttr(name, v string) (bool, *APIError) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errInvalidAttributeValue("Invalid value for the parameter %s. Reason: must be true or false.", name)
}

// queueSetting is one validated queue attribute: how it changes the
// configuration (nil for attributes that are only stored and echoed) and the
// value GetQueueAttributes echoes ("" removes it).
type queueSetting struct {
	name, value string
	apply       func(*queueConfig)
}

// queueSettings are validated attribute changes. They are parsed with no
// queue lock held (parsing may look up a dead-letter queue, which takes the
// service's lock) and applied in one critical section, so that two
// SetQueueAttributes calls never lose each other's changes.
type queueSettings []queueSetting

func (st queueSettings) applyTo(cfg *queueConfig) {
	for _, x := range st {
		if x.apply != nil {
			x.apply(cfg)
		}
		if x.value == "" {
			delete(cfg.raw, x.name)
		} else {
			cfg.raw[x.name] = x.value
		}
	}
}

// parseSettings validates the attributes of CreateQueue or SetQueueAttributes
// for a queue whose ARN is self. The ranges are those of the SQS API reference
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html);
// errors are reported for the first bad attribute in name order, so that the
// answer does not depend on map order.
func (sq *sqsService) parseSettings(attrs map[string]string, fifo bool, self string) (queueSettings, *APIError) {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(queueSettings, 0, len(names))
	for _, n := range names {
		v := attrs[n]
		if !queueAttrNames[n] || readOnlyQueueAttrs[n] {
			return nil, errInvalidAttributeName("Unknown Attribute %s.", n)
		}
		var apply func(*queueConfig)
		var e *APIError
		switch n {
		case "VisibilityTimeout", "DelaySeconds", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds":
			a := durationAttrs[n]
			var d time.Duration
			d, e = secondsAttr(n, v, a.lo, a.hi)
			apply = func(c *queueConfig) { *a.field(c) = d }
		case "MaximumMessageSize":
			var x int64
			x, e = intAttr(n, v, 1024, 1<<20)
			apply = func(c *queueConfig) { c.maxSize = int(x) }
		case "KmsDataKeyReusePeriodSeconds":
			_, e = intAttr(n, v, 60, 86400)
		case "FifoQueue":
			var b bool
			if b, e = boolAttr(n, v); e == nil && b != fifo {
				e = errInvalidAttributeValue("Invalid value for the parameter FifoQueue. Reason: a queue's FifoQueue attribute cannot change, and FIFO queue names must end in .fifo.")
			}
		case "ContentBasedDeduplication":
			var b bool
			if b, e = boolAttr(n, v); e == nil && !fifo {
				e = errInvalidAttributeName("Unknown Attribute ContentBasedDeduplication.")
			}
			apply = func(c *queueConfig) { c.contentDedup = b }
		case "DeduplicationScope", "FifoThroughputLimit":
			if !fifo {
				e = errInvalidAttributeName("Unknown Attribute %s.", n)
			}
		case "SqsManagedSseEnabled":
			_, e = boolAttr(n, v)
		case "Policy", "RedriveAllowPolicy":
			if v != "" && !json.Valid([]byte(v)) {
				e = errInvalidAttributeValue("Invalid value for the parameter %s. Reason: the value is not valid JSON.", n)
			}
		case "RedrivePolicy":
			var rp *redrivePolicy
			rp, e = sq.parseRedrive(v, fifo, self)
			apply = func(c *queueConfig) { c.redrive = rp }
			if rp != nil {
				b, _ := json.Marshal(rp)
				v = string(b)
			}
		}
		if e != nil {
			return nil, e
		}
		out = append(out, queueSetting{name: n, value: v, apply: apply})
	}
	return out, nil
}

// parseRedrive validates a RedrivePolicy ("" removes it): its dead-letter
// queue must exist and be of the same type as the queue, and maxReceiveCount
// be from 1 to 1000.
func (sq *sqsService) parseRedrive(v string, fifo bool, self string) (*redrivePolicy, *APIError) {
	if v == "" {
		return nil, nil
	}
	var raw struct {
		DeadLetterTargetArn string  `json:"deadLetterTargetArn"`
		MaxReceiveCount     flexInt `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(v), &raw); err != nil || raw.DeadLetterTargetArn == "" || !raw.MaxReceiveCount.Set {
		return nil, errInvalidAttributeValue("Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map with deadLetterTargetArn and maxReceiveCount.", v)
	}
	if raw.MaxReceiveCount.Value < 1 || raw.MaxReceiveCount.Value > 1000 {
		return nil, errInvalidAttributeValue("Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: %d, valid values are from 1 to 1000 both inclusive.", v, raw.MaxReceiveCount.Value)
	}
	if raw.DeadLetterTargetArn != self {
		dlq := sq.queueByARN(raw.DeadLetterTargetArn)
		if dlq == nil {
			return nil, errInvalidAttributeValue("Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter target does not exist.", v)
		}
		if dlq.fifo != fifo {
			return nil, errInvalidAttributeValue("Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue as the source.", v)
		}
	}
	return &redrivePolicy{DeadLetterTargetArn: raw.DeadLetterTargetArn, MaxReceiveCount: int(raw.MaxReceiveCount.Value)}, nil
}
