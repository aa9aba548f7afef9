package events_test

import (
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// TestNamesAreInTheManifest: every topic and queue the code names, and every topic of the catalog, is declared
// in infra/services.yaml, so a rename on one side fails here rather than at run time.
func TestNamesAreInTheManifest(t *testing.T) {
	m, err := manifest.Load("../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{events.OrderEventsTopic, events.NotificationsTopic} {
		if _, ok := m.Topic(name); !ok {
			t.Errorf("topic %q is not declared in the manifest", name)
		}
		if types, ok := events.TypesOf(name); !ok || len(types) == 0 {
			t.Errorf("topic %q has no event types in the catalog", name)
		}
	}
	for _, name := range []string{events.FulfillmentQueue, events.OrderUpdatesQueue} {
		if _, ok := m.Queue(name); !ok {
			t.Errorf("queue %q is not declared in the manifest", name)
		}
	}
	for _, topic := range m.Topics {
		if _, ok := events.TypesOf(topic.Name); !ok {
			t.Errorf("manifest topic %q has no event types in the catalog", topic.Name)
		}
	}
	for _, typ := range []events.Type{events.OrderPlaced, events.OrderFulfilled, events.OrderRejected,
		events.NotificationOrderFulfilled, events.NotificationOrderRejected} {
		if _, ok := events.TopicOf(typ); !ok {
			t.Errorf("event type %s is in no topic of the catalog", typ)
		}
	}
}
