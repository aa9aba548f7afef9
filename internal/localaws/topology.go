package localaws

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Topology declares queues, topics and subscriptions to create, so a local
// run can have the same messaging layout as the infrastructure on AWS.
// It is read from JSON or YAML (see ParseTopology) or built in Go.
type Topology struct {
	// Queues are created first, dead-letter queues before the queues that
	// name them.
	Queues []QueueSpec `json:"queues"`
	// Topics are created after the queues.
	Topics []TopicSpec `json:"topics"`
}

// QueueSpec declares one SQS queue.
type QueueSpec struct {
	// Name is the queue name; FIFO queue names end in .fifo.
	Name string `json:"name"`
	// Attributes are SQS queue attributes (VisibilityTimeout, ...).
	Attributes map[string]string `json:"attributes,omitempty"`
	// DeadLetterQueue, when set, names a queue of this topology that receives
	// messages after MaxReceiveCount receives.
	DeadLetterQueue string `json:"dead_letter_queue,omitempty"`
	// MaxReceiveCount is the maxReceiveCount of the redrive policy (default 5).
	MaxReceiveCount int `json:"max_receive_count,omitempty"`
	// Tags are queue tags.
	Tags map[string]string `json:"tags,omitempty"`
}

// TopicSpec declares one SNS topic and its subscriptions.
type TopicSpec struct {
	// Name is the topic name; FIFO topic names end in .fifo.
	Name string `json:"name"`
	// Attributes are SNS topic attributes (DisplayName, ...).
	Attributes map[string]string `json:"attributes,omitempty"`
	// Subscriptions of the topic.
	Subscriptions []SubscriptionSpec `json:"subscriptions,omitempty"`
}

// SubscriptionSpec declares one subscription. Set Queue for an SQS
// subscription to a queue of this server, or Protocol and Endpoint.
type SubscriptionSpec struct {
	// Queue is the name of a queue to subscribe.
	Queue string `json:"queue,omitempty"`
	// Protocol is sqs, http, https or email (default sqs).
	Protocol string `json:"protocol,omitempty"`
	// Endpoint is the URL, address or queue ARN.
	Endpoint string `json:"endpoint,omitempty"`
	// RawMessageDelivery turns raw delivery on.
	RawMessageDelivery bool `json:"raw_message_delivery,omitempty"`
	// FilterPolicy is the filter policy, as a JSON or YAML object.
	FilterPolicy json.RawMessage `json:"filter_policy,omitempty"`
	// FilterPolicyScope is MessageAttributes (default) or MessageBody.
	FilterPolicyScope string `json:"filter_policy_scope,omitempty"`
	// Attributes are further subscription attributes (RedrivePolicy, ...).
	Attributes map[string]string `json:"attributes,omitempty"`
}

// ParseTopology reads a topology from JSON or YAML.
func ParseTopology(b []byte) (Topology, error) {
	var t Topology
	if err := yaml.UnmarshalStrict(b, &t); err != nil {
		return Topology{}, fmt.Errorf("parse topology: %w", err)
	}
	return t, nil
}

// Apply creates the topology. It is idempotent: what exists with the same
// settings is kept. baseURL is where http subscribers are told to confirm
// their subscription (such as "http://127.0.0.1:4566").
func (s *Server) Apply(t Topology, baseURL string) error {
	created := map[string]bool{}
	byName := map[string]QueueSpec{}
	for _, q := range t.Queues {
		if _, dup := byName[q.Name]; dup {
			return fmt.Errorf("queue %q declared twice", q.Name)
		}
		byName[q.Name] = q
	}
	var create func(name string, stack []string) error
	create = func(name string, stack []string) error {
		if created[name] {
			return nil
		}
		for _, n := range stack {
			if n == name {
				return fmt.Errorf("dead-letter queues form a cycle: %s", strings.Join(append(stack, name), " -> "))
			}
		}
		q, ok := byName[name]
		if !ok {
			return fmt.Errorf("queue %q is not declared", name)
		}
		attrs := map[string]string{}
		for k, v := range q.Attributes {
			attrs[k] = v
		}
		if strings.HasSuffix(q.Name, ".fifo") {
			attrs["FifoQueue"] = "true"
		}
		if q.DeadLetterQueue != "" {
			if err := create(q.DeadLetterQueue, append(stack, name)); err != nil {
				return err
			}
			n := q.MaxReceiveCount
			if n == 0 {
				n = 5
			}
			attrs["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, s.sqs.queueARN(q.DeadLetterQueue), n)
		}
		if _, e := s.CreateQueue(q.Name, attrs, q.Tags); e != nil {
			return fmt.Errorf("create queue %s: %w", q.Name, e)
		}
		created[name] = true
		return nil
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := create(n, nil); err != nil {
			return err
		}
	}
	for _, tp := range t.Topics {
		attrs := map[string]string{}
		for k, v := range tp.Attributes {
			attrs[k] = v
		}
		if strings.HasSuffix(tp.Name, ".fifo") {
			attrs["FifoTopic"] = "true"
		}
		arn, e := s.CreateTopic(tp.Name, attrs, nil)
		if e != nil {
			return fmt.Errorf("create topic %s: %w", tp.Name, e)
		}
		for i, sub := range tp.Subscriptions {
			protocol, endpoint := sub.Protocol, sub.Endpoint
			if sub.Queue != "" {
				if _, ok := byName[sub.Queue]; !ok {
					return fmt.Errorf("topic %s subscription %d: queue %q is not declared", tp.Name, i, sub.Queue)
				}
				protocol, endpoint = "sqs", s.sqs.queueARN(sub.Queue)
			}
			if protocol == "" {
				protocol = "sqs"
			}
			sattrs := map[string]string{}
			for k, v := range sub.Attributes {
				sattrs[k] = v
			}
			if sub.RawMessageDelivery {
				sattrs["RawMessageDelivery"] = "true"
			}
			if len(sub.FilterPolicy) > 0 {
				sattrs["FilterPolicy"] = string(sub.FilterPolicy)
			}
			if sub.FilterPolicyScope != "" {
				sattrs["FilterPolicyScope"] = sub.FilterPolicyScope
			}
			if _, _, e := s.Subscribe(baseURL, arn, protocol, endpoint, sattrs); e != nil {
				return fmt.Errorf("topic %s subscription %d: %w", tp.Name, i, e)
			}
		}
	}
	return nil
}

func readLimited(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("body larger than %d bytes", limit)
	}
	return b, nil
}
