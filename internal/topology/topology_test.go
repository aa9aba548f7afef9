package topology

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

func TestLocalMatchesManifest(t *testing.T) {
	m, err := manifest.Load("../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	topo := Local(m)
	for _, q := range m.Queues {
		src, dlq := Queue(&topo, q.PhysicalName()), Queue(&topo, q.DeadLetterQueueName())
		if src == nil || dlq == nil {
			t.Fatalf("local topology lacks queue %s or its dead-letter queue", q.Name)
		}
		if src.DeadLetterQueue != dlq.Name || src.MaxReceiveCount != q.MaxReceiveCount {
			t.Errorf("queue %s redrives to %s after %d receives; want %s after %d", q.Name, src.DeadLetterQueue,
				src.MaxReceiveCount, dlq.Name, q.MaxReceiveCount)
		}
		if got, want := src.Attributes["VisibilityTimeout"], fmt.Sprint(q.VisibilityTimeoutSeconds); got != want {
			t.Errorf("queue %s VisibilityTimeout = %s; want %s", q.Name, got, want)
		}
		if q.FIFO != (src.Attributes["FifoQueue"] == "true") || q.FIFO != (dlq.Attributes["FifoQueue"] == "true") {
			t.Errorf("queue %s: FifoQueue %q, its dead-letter queue's %q; want both FIFO = %v", q.Name,
				src.Attributes["FifoQueue"], dlq.Attributes["FifoQueue"], q.FIFO)
		}
	}
	var got []string
	for _, topic := range topo.Topics {
		for _, s := range topic.Subscriptions {
			got = append(got, fmt.Sprintf("%s->%s raw=%v filter=%s", topic.Name, s.Queue, s.RawMessageDelivery, s.FilterPolicy))
		}
	}
	// Every subscription of the manifest, as declared: raw delivery and the filter policy's JSON.
	var want []string
	for _, q := range m.Queues {
		for _, sub := range q.Subscriptions {
			want = append(want, fmt.Sprintf("%s->%s raw=%v filter=%s", sub.Topic, q.PhysicalName(), sub.RawMessageDelivery, sub.FilterPolicyJSON()))
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Contains(want, `order-events->fulfillment raw=true filter={"type":["order.placed"]}`) {
		t.Errorf("the manifest no longer subscribes the fulfillment queue to order.placed: %q", want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}
	if Queue(&topo, "nope") != nil {
		t.Errorf("Queue(nope) found a queue")
	}
}
