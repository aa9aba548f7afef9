package localaws_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws"
	"github.com/ecs-reworked/ecs-reworked/internal/localaws/localawstest"
)

// TestPurgeQueueInterval checks that a queue can be purged again once 60
// seconds have passed since the last purge, and not a moment before. It has
// a server and clock of its own: moving the conformance suite's shared clock
// would move it under the cases running in parallel.
func TestPurgeQueueInterval(t *testing.T) {
	clock := &fakeClock{}
	srv := localaws.New(localaws.WithClock(clock.now))
	t.Cleanup(func() { _ = srv.Close() })
	c := sqs.New(sqs.Options{BaseEndpoint: aws.String("http://localaws.test"), HTTPClient: localawstest.Client(srv),
		Region: "us-east-1", Credentials: testCredentials, Retryer: connectionRetryer()})
	ctx := t.Context()
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("purged")})
	if err != nil {
		t.Fatal(err)
	}
	purge := func() error {
		_, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: q.QueueUrl})
		return err
	}
	if err := purge(); err != nil {
		t.Fatalf("first PurgeQueue: %v", err)
	}
	var inProgress *types.PurgeQueueInProgress
	clock.advance(59 * time.Second)
	if err := purge(); !errors.As(err, &inProgress) {
		t.Errorf("PurgeQueue after 59 s = %v; want PurgeQueueInProgress", err)
	}
	clock.advance(time.Second)
	if err := purge(); err != nil {
		t.Errorf("PurgeQueue after 60 s = %v; want success", err)
	}
	// The refused purge did not restart the interval; the accepted one did.
	clock.advance(30 * time.Second)
	if err := purge(); !errors.As(err, &inProgress) {
		t.Errorf("PurgeQueue 30 s after the second purge = %v; want PurgeQueueInProgress", err)
	}
}
