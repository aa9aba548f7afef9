package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/topology"
)

// tapQueue is a local-only queue subscribed to every topic so devenv can print what the services publish;
// notifications are what a customer would receive by email on AWS.
const tapQueue = "devenv-tap"

// localTopology is the manifest's messaging as the embedded endpoint creates it, plus the tap queue subscribed
// to every topic.
func localTopology(m *manifest.Manifest) localaws.Topology {
	t := topology.Local(m)
	t.Queues = append(t.Queues, localaws.QueueSpec{Name: tapQueue})
	for i := range t.Topics {
		t.Topics[i].Subscriptions = append(t.Topics[i].Subscriptions, localaws.SubscriptionSpec{Queue: tapQueue, RawMessageDelivery: true})
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
