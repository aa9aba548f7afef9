package messaging_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
)

// TestConsumerOptionsValidate: the defaults are valid; each rule, cross-field ones included, reports its field;
// nothing is clamped into range behind the caller's back.
func TestConsumerOptionsValidate(t *testing.T) {
	valid := messaging.ConsumerOptions{QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/q"}
	if err := valid.WithDefaults().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if d := valid.WithDefaults(); d.WaitTime != messaging.DefaultWaitTime || d.Pollers != messaging.DefaultPollers {
		t.Errorf("WithDefaults() = %+v; want the exported defaults", d)
	}
	tests := []struct {
		name string
		edit func(*messaging.ConsumerOptions)
		want string
	}{
		{"no queue", func(o *messaging.ConsumerOptions) { o.QueueURL = "" }, "QueueURL is required"},
		{"negative pollers", func(o *messaging.ConsumerOptions) { o.Pollers = -1 }, "Pollers -1"},
		{"wait above the SQS maximum", func(o *messaging.ConsumerOptions) { o.WaitTime = 21 * time.Second }, "WaitTime 21s"},
		{"short poll", func(o *messaging.ConsumerOptions) { o.WaitTime = 500 * time.Millisecond }, "WaitTime 500ms"},
		{"visibility above 12 h", func(o *messaging.ConsumerOptions) { o.VisibilityTimeout = 13 * time.Hour }, "VisibilityTimeout 13h0m0s"},
		{"handler timeout not below visibility", func(o *messaging.ConsumerOptions) {
			o.VisibilityTimeout, o.HandlerTimeout = 30*time.Second, 30*time.Second
		}, "HandlerTimeout 30s must be 0 (none) or below VisibilityTimeout 30s"},
		{"delete delay past visibility", func(o *messaging.ConsumerOptions) {
			o.VisibilityTimeout, o.DeleteDelay = 2*time.Second, 3*time.Second
		}, "DeleteDelay 3s"},
		{"negative drain", func(o *messaging.ConsumerOptions) { o.DrainTimeout = -time.Second }, "DrainTimeout -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid
			tt.edit(&o)
			err := o.WithDefaults().Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v; want an error containing %q", err, tt.want)
			}
			if _, err := messaging.NewConsumer(nil, nil, nil, o); err == nil {
				t.Error("NewConsumer accepted options that Validate rejects")
			}
		})
	}
	// Every problem at once, not only the first.
	err := messaging.ConsumerOptions{Pollers: -1, Concurrency: -2}.WithDefaults().Validate()
	for _, want := range []string{"QueueURL", "Pollers", "Concurrency"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to report %s too", err, want)
		}
	}
}
