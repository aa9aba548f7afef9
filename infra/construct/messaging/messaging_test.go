package messaging_test

import (
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/messaging"
)

// Validate names every field it rejects, all at once.
func TestValidateNamesEveryBadField(t *testing.T) {
	err := messaging.Props{Thresholds: messaging.Thresholds{DeadLetterDepth: 0, OldestMessageAgeSeconds: 15 * 24 * 3600}}.Validate()
	if err == nil {
		t.Fatal("Validate() = nil; want every problem")
	}
	for _, want := range []string{"Manifest", "AlarmTopic", "DeadLetterDepth", "OldestMessageAgeSeconds"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v\nwant it to name %s", err, want)
		}
	}
}
