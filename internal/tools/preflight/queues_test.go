package preflight

import "testing"

func TestFIFOQueues(t *testing.T) {
	queue := func(id, props string) string {
		return `"` + id + `":{"Type":"AWS::SQS::Queue","Properties":{` + props + `}}`
	}
	tmpl := func(resources ...string) string {
		s := `{"Resources":{`
		for i, r := range resources {
			if i > 0 {
				s += ","
			}
			s += r
		}
		return s + `}}`
	}
	redrive := `"RedrivePolicy":{"deadLetterTargetArn":{"Fn::GetAtt":["Dlq","Arn"]},"maxReceiveCount":5}`
	runCases(t, fifoQueueRule, []ruleCase{
		{name: "named FIFO queue with a FIFO dead-letter queue", stacks: []testStack{{name: "ecsr-dev-app", template: tmpl(
			queue("Dlq", `"FifoQueue":true,"QueueName":"ecsr-dev-ledger-dlq.fifo"`),
			queue("Q", `"FifoQueue":true,"QueueName":"ecsr-dev-ledger.fifo",`+redrive))}}},
		{name: "standard queues with generated names", stacks: []testStack{{name: "ecsr-dev-app", template: tmpl(
			queue("Dlq", `"MessageRetentionPeriod":1209600`), queue("Q", redrive))}}},
		{name: "FIFO queue without a name", stacks: []testStack{{name: "ecsr-dev-app", template: tmpl(queue("Q", `"FifoQueue":"true"`))}},
			want: []string{"ecsr-dev-app/Q"}},
		{name: "FIFO queue named without .fifo", stacks: []testStack{{name: "ecsr-dev-app", template: tmpl(queue("Q", `"FifoQueue":true,"QueueName":"ledger"`))}},
			want: []string{"ecsr-dev-app/Q"}},
		{name: "standard queue named .fifo", stacks: []testStack{{name: "ecsr-dev-app", template: tmpl(queue("Q", `"QueueName":"ledger.fifo"`))}},
			want: []string{"ecsr-dev-app/Q"}},
		{name: "name over 80 characters", stacks: []testStack{{name: "ecsr-dev-app", template: tmpl(queue("Q",
			`"FifoQueue":true,"QueueName":"ecsr-dev-a-very-long-queue-name-that-goes-on-and-on-and-on-and-on-and-on-dlq.fifo"`))}},
			want: []string{"ecsr-dev-app/Q"}},
		{name: "FIFO queue redriving to a standard queue", stacks: []testStack{{name: "ecsr-dev-app", template: tmpl(
			queue("Dlq", `"MessageRetentionPeriod":1209600`),
			queue("Q", `"FifoQueue":true,"QueueName":"ecsr-dev-ledger.fifo",`+redrive))}},
			want: []string{"ecsr-dev-app/Q"}},
		{name: "standard queue redriving to a FIFO queue", stacks: []testStack{{name: "ecsr-dev-app", template: tmpl(
			queue("Dlq", `"FifoQueue":true,"QueueName":"ecsr-dev-x-dlq.fifo"`), queue("Q", redrive))}},
			want: []string{"ecsr-dev-app/Q"}},
	})
}
