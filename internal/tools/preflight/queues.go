package preflight

import (
	"strings"
)

// maxQueueName is the longest queue name SQS accepts: "A queue name can have up to 80 characters", and "A FIFO
// queue name must end with the .fifo suffix"
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html).
const maxQueueName = 80

// fifoQueueRule: a FIFO queue's name ends in .fifo and a standard queue's does not (CreateQueue), and "the queue
// type must match the source queue type—a FIFO queue can only use a FIFO DLQ, and a standard queue can only use a
// standard DLQ" (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue.html).
// A FIFO queue without an explicit name gets one CloudFormation generates, which can exceed the 80 characters
// once .fifo is appended (https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/280).
var fifoQueueRule = Rule{
	ID:      "sqs-fifo",
	Summary: "FIFO queues are named, end in .fifo within 80 characters, and redrive to a queue of their own type.",
	Source:  "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html",
	check: func(c *check) {
		const dlqSource = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue.html"
		c.resources("AWS::SQS::Queue", func(stack, id string, q Resource) {
			fifo := isTrue(q.Properties["FifoQueue"])
			name, named := c.w.literal(stack, q.Properties["QueueName"])
			switch {
			case fifo && !named:
				c.fail(stack, id, "this FIFO queue has no QueueName: the name CloudFormation generates (stack, logical ID, "+
					"random suffix, .fifo) can exceed SQS's %d characters and fail the create; name it <env prefix>-<name>.fifo", maxQueueName)
			case named && fifo != strings.HasSuffix(name, ".fifo"):
				c.fail(stack, id, "QueueName %q with FifoQueue %v: a FIFO queue's name, and only a FIFO queue's, ends in .fifo", name, fifo)
			case named && len(name) > maxQueueName:
				c.fail(stack, id, "QueueName %q is %d characters; SQS allows %d", name, len(name), maxQueueName)
			}
			dlq, ok := c.w.target(stack, object(q.Properties["RedrivePolicy"])["deadLetterTargetArn"])
			if !ok {
				return
			}
			if res, ok := c.w.resource(dlq); ok && res.Type == "AWS::SQS::Queue" && isTrue(res.Properties["FifoQueue"]) != fifo {
				c.failSource(dlqSource, stack, id, "redrives to %s, whose FifoQueue is %v while this queue's is %v: SQS refuses a "+
					"dead-letter queue of the other type", dlq.ID, isTrue(res.Properties["FifoQueue"]), fifo)
			}
		})
	},
}

// isTrue reports whether a template value is the boolean true (or the string CloudFormation accepts for it).
func isTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}
