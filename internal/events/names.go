package events

import "slices"

// Topics and queues, by their names in infra/services.yaml: the one place the code names them. The manifest
// creates them (on AWS and in `make up`); a test checks that each name here is declared there, and that every
// subscription's filter policy names only event types declared in this package.
const (
	// OrderEventsTopic carries the order lifecycle: OrderPlaced, OrderFulfilled, OrderRejected.
	OrderEventsTopic = "order-events"
	// NotificationsTopic carries customer notifications: NotificationOrderFulfilled, NotificationOrderRejected.
	NotificationsTopic = "notifications"
	// FulfillmentQueue holds the placed orders the worker fulfills.
	FulfillmentQueue = "fulfillment"
	// OrderUpdatesQueue holds the outcomes and notifications the orders API records.
	OrderUpdatesQueue = "order-updates"
)

// catalog declares, per topic, the event types published to it. It is the list the manifest's filter policies
// are checked against when the manifest is loaded (for `make up`, synthesis and tests alike), so a subscription
// to a type nobody publishes, such as a misspelt one, fails at once instead of never receiving a message.
var catalog = map[string][]Type{
	OrderEventsTopic:   {OrderPlaced, OrderFulfilled, OrderRejected},
	NotificationsTopic: {NotificationOrderFulfilled, NotificationOrderRejected},
}

// TypesOf returns the event types published to topic, and false for a topic with no declared types.
func TypesOf(topic string) ([]Type, bool) {
	types, ok := catalog[topic]
	return slices.Clone(types), ok
}

// TopicOf returns the topic that events of type t are published to, and false for an undeclared type.
func TopicOf(t Type) (string, bool) {
	for topic, types := range catalog {
		if slices.Contains(types, t) {
			return topic, true
		}
	}
	return "", false
}

// Types returns every event type of the catalog, sorted.
func Types() []Type {
	var out []Type
	for _, types := range catalog {
		out = append(out, types...)
	}
	slices.Sort(out)
	return out
}
