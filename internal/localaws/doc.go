// Package localaws is an embedded SQS and SNS endpoint for local runs and
// tests. A Server is an http.Handler that speaks SQS in the AWS JSON 1.0 and
// query protocols and SNS in the query protocol, on one port, so the
// unmodified AWS SDKs work against it with only their endpoint changed.
//
// A Server keeps everything in memory. Any number of servers can run in one
// process; they share nothing.
//
// # How the package is organised
//
// Server (server.go) owns what both APIs share: the HTTP and protocol layer
// (protocol.go), fault injection (faults.go) and the lifecycle that Close
// ends. It hands each request to one of two services, each with its own state
// and its own lock:
//
//   - sqsService (sqs.go, sqs_messages.go, queue_attrs.go, movetask.go) holds
//     the queues. Each queue (queue.go) guards its messages with its own mutex;
//     the messages, lists, heaps and windows it guards live in queueState
//     (queue_state.go, store.go), whose methods never lock.
//   - snsService (sns.go, sns_subscriptions.go, sns_publish.go,
//     sns_delivery.go) holds the topics and subscriptions. It reaches SQS only
//     through the one-method queueSink interface (sqsService.deliver), so no
//     SNS code can touch a queue's state.
//
// Every operation has the same shape: decode and validate its input with no
// lock held; then call one small method that takes the lock it needs, unlocks
// with defer and returns a snapshot (copies, never pointers into guarded
// state); then perform the side effects (deliveries to subscribers, moves to
// dead-letter queues, http posts) with no lock held. A method that takes a
// lock takes it once.
//
// # Lock order
//
//  1. sqsService.mu before queue.mu and before moveTask.mu, never the reverse.
//     Only CreateQueue (comparing with an existing queue) and
//     StartMessageMoveTask (checking the running tasks) hold two at once.
//  2. At most one queue.mu at a time. Moving messages between queues (to a
//     dead-letter queue, by a message move task, from SNS) takes them out
//     under the source's lock, releases it, and stores them under the
//     destination's.
//  3. snsService.mu is never held together with any SQS lock: SNS copies the
//     subscriptions it delivers to under its lock and calls queueSink.deliver
//     after releasing it.
//  4. lifecycle.mu, faultSet.mu and moveTask.mu are leaves: nothing is
//     acquired while one of them is held.
package localaws
