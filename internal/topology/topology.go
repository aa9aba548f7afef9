// Package topology turns the messaging of the services manifest (infra/services.yaml) into the topology the
// embedded SQS/SNS endpoint creates: the same queues, dead-letter queues, redrive policies, topics,
// subscriptions and filter policies the CDK app creates on AWS. `make up` and the tests that run the services
// use it, so neither can drift from the manifest.
package topology

import (
	"encoding/json"
	"strconv"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// Local returns the manifest's messaging as a localaws topology.
func Local(m *manifest.Manifest) localaws.Topology {
	var t localaws.Topology
	subs := map[string][]localaws.SubscriptionSpec{}
	for _, q := range m.Queues {
		dlq := localaws.QueueSpec{
			Name:       q.DeadLetterQueueName(),
			Attributes: map[string]string{"MessageRetentionPeriod": strconv.Itoa(q.DeadLetterRetentionSeconds())},
		}
		queue := localaws.QueueSpec{
			Name: q.PhysicalName(),
			Attributes: map[string]string{
				"VisibilityTimeout":             strconv.Itoa(q.VisibilityTimeoutSeconds),
				"MessageRetentionPeriod":        strconv.Itoa(q.RetentionSeconds),
				"ReceiveMessageWaitTimeSeconds": "20",
			},
			DeadLetterQueue: q.DeadLetterQueueName(),
			MaxReceiveCount: q.MaxReceiveCount,
		}
		if q.FIFO {
			dlq.Attributes["FifoQueue"] = "true"
			queue.Attributes["FifoQueue"] = "true"
			queue.Attributes["ContentBasedDeduplication"] = strconv.FormatBool(q.ContentBasedDeduplication)
		}
		t.Queues = append(t.Queues, dlq, queue)
		for _, s := range q.Subscriptions {
			spec := localaws.SubscriptionSpec{
				Queue:              q.PhysicalName(),
				RawMessageDelivery: s.RawMessageDelivery,
				FilterPolicyScope:  s.FilterPolicyScope,
			}
			if p := s.FilterPolicyJSON(); p != "" {
				spec.FilterPolicy = json.RawMessage(p)
			}
			subs[s.Topic] = append(subs[s.Topic], spec)
		}
	}
	for _, topic := range m.Topics {
		t.Topics = append(t.Topics, localaws.TopicSpec{Name: topic.Name, Subscriptions: subs[topic.Name]})
	}
	return t
}

// Queue returns a pointer to the named queue of t, so a caller can adjust its settings (a test may shorten a
// visibility timeout), or nil.
func Queue(t *localaws.Topology, name string) *localaws.QueueSpec {
	for i := range t.Queues {
		if t.Queues[i].Name == name {
			return &t.Queues[i]
		}
	}
	return nil
}
