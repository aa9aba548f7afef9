package outbox_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/outbox"
)

// TestRelayOptionsValidate: the defaults are valid; each rule reports its field; nothing is clamped.
func TestRelayOptionsValidate(t *testing.T) {
	valid := outbox.RelayOptions{Topics: map[string]string{"order-events": "arn:aws:sns:eu-west-1:123456789012:order-events"}}
	if err := valid.WithDefaults().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if d := valid.WithDefaults(); d.BatchSize != outbox.DefaultBatchSize || d.PollInterval != outbox.DefaultPollInterval {
		t.Errorf("WithDefaults() = %+v; want the exported defaults", d)
	}
	tests := []struct {
		name string
		edit func(*outbox.RelayOptions)
		want string
	}{
		{"no topics", func(o *outbox.RelayOptions) { o.Topics = nil }, "Topics is required"},
		{"topic without ARN", func(o *outbox.RelayOptions) { o.Topics = map[string]string{"order-events": ""} }, `topic "order-events" has ARN ""`},
		{"negative batch", func(o *outbox.RelayOptions) { o.BatchSize = -5 }, "BatchSize -5"},
		{"backoff bounds crossed", func(o *outbox.RelayOptions) { o.MinBackoff, o.MaxBackoff = time.Second, time.Millisecond }, "MinBackoff 1s must be positive and at most MaxBackoff 1ms"},
		{"negative poll", func(o *outbox.RelayOptions) { o.PollInterval = -time.Millisecond }, "PollInterval -1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid
			tt.edit(&o)
			err := o.WithDefaults().Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v; want an error containing %q", err, tt.want)
			}
			if _, err := outbox.NewRelay(nil, nil, nil, nil, o); err == nil {
				t.Error("NewRelay accepted options that Validate rejects")
			}
		})
	}
}
