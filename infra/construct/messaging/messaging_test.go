package messaging_test

import (
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// Validate names every field it rejects, all at once.
func TestValidateNamesEveryBadField(t *testing.T) {
	err := messaging.Props{Thresholds: messaging.Thresholds{DeadLetterDepth: 0, OldestMessageAgeSeconds: 15 * 24 * 3600}}.Validate()
	if err == nil {
		t.Fatal("Validate() = nil; want every problem")
	}
	for _, want := range []string{"Manifest", "AlarmTopic", "NamePrefix", "DeadLetterDepth", "OldestMessageAgeSeconds"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v\nwant it to name %s", err, want)
		}
	}
}

// A FIFO queue is named, and a name SQS would refuse (over 80 characters) is refused here first.
func TestValidateRefusesFIFONamesOverTheLimit(t *testing.T) {
	q := manifest.Queue{Name: strings.Repeat("l", 40), FIFO: true}
	p := messaging.Props{Manifest: &manifest.Manifest{Queues: []manifest.Queue{q}}, NamePrefix: "ecsr-a-long-environment-name-xyzw",
		Thresholds: messaging.Thresholds{DeadLetterDepth: 1, OldestMessageAgeSeconds: 60}}
	err := p.Validate()
	if err == nil || !strings.Contains(err.Error(), "-dlq.fifo is 83 characters; SQS allows 80") {
		t.Errorf("Validate() = %v; want the dead-letter queue's 83-character name refused", err)
	}
}
