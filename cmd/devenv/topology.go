package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// tapQueue is a local-only queue subscribed to every topic so devenv can print what the services publish;
// notifications are what a customer would receive by email on AWS.
const tapQueue = "devenv-tap"

// localTopology is the messaging of the manifest as the embedded endpoint creates it: the same queues,
// dead-letter queues, redrive policies, topics, subscriptions and filter policies the CDK app creates on AWS,
// plus the tap queue.
func localTopology(m *manifest.Manifest) localaws.Topology {
	var t localaws.Topology
	subs := map[string][]localaws.SubscriptionSpec{}
	for _, q := range m.Queues {
		t.Queues = append(t.Queues,
			localaws.QueueSpec{
				Name:       q.DeadLetterQueueName(),
				Attributes: map[string]string{"MessageRetentionPeriod": strconv.Itoa(q.DeadLetterRetentionSeconds())},
			},
			localaws.QueueSpec{
				Name: q.Name,
				Attributes: map[string]string{
					"VisibilityTimeout":             strconv.Itoa(q.VisibilityTimeoutSeconds),
					"MessageRetentionPeriod":        strconv.Itoa(q.RetentionSeconds),
					"ReceiveMessageWaitTimeSeconds": "20",
				},
				DeadLetterQueue: q.DeadLetterQueueName(),
				MaxReceiveCount: q.MaxReceiveCount,
			})
		for _, s := range q.Subscriptions {
			spec := localaws.SubscriptionSpec{
				Queue:              q.Name,
				RawMessageDelivery: s.RawMessageDelivery,
				FilterPolicyScope:  s.FilterPolicyScope,
			}
			if p := s.FilterPolicyJSON(); p != "" {
				spec.FilterPolicy = json.RawMessage(p)
			}
			subs[s.Topic] = append(subs[s.Topic], spec)
		}
	}
	t.Queues = append(t.Queues, localaws.QueueSpec{Name: tapQueue})
	for _, topic := range m.Topics {
		t.Topics = append(t.Topics, localaws.TopicSpec{
			Name:          topic.Name,
			Subscriptions: append(subs[topic.Name], localaws.SubscriptionSpec{Queue: tapQueue, RawMessageDelivery: true}),
		})
	}
	return t
}

// writeTopology writes the local topology as the embedded endpoint's -init file.
func writeTopology(path string, m *manifest.Manifest) error {
	b, err := json.MarshalIndent(localTopology(m), "", "  ")
	if err != nil {
		return fmt.Errorf("encode topology: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write topology: %w", err)
	}
	return nil
}

func topicARN(cfg config, topic string) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", cfg.region, cfg.account, topic)
}

func queueURL(cfg config, queue string) string {
	return fmt.Sprintf("http://%s/%s/%s", cfg.awsAddr, cfg.account, queue)
}
