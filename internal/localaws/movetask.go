package localaws

import (
	"sort"
	"sync"
	"time"
)

// moveTask is a message move task (StartMessageMoveTask): it moves the
// visible messages of a dead-letter queue back to their source queues, or to
// a given destination, in the background. Its mu guards its progress and is
// a leaf lock; the immutable fields above it are read freely.
type moveTask struct {
	handle    string
	sourceARN string
	destARN   string
	rate      int
	started   time.Time
	cancel    chan struct{}

	mu     sync.Mutex
	status string
	moved  int64
	toMove int64
	reason string
}

// running reports whether the task is still moving messages.
func (t *moveTask) running() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status == "RUNNING"
}

// finish records how the task ended.
func (t *moveTask) finish(status, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.status, t.reason = status, reason
}

func (t *moveTask) setToMove(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.toMove = int64(n)
}

func (t *moveTask) addMoved(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.moved += int64(n)
}

// stop cancels a running task and returns how many messages it moved.
func (t *moveTask) stop(handle string) (int64, *APIError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status != "RUNNING" {
		return 0, errUnsupportedOperation("The message move task %s is not running (status %s).", handle, t.status)
	}
	close(t.cancel)
	t.status = "CANCELLING"
	return t.moved, nil
}

// entry renders the task for ListMessageMoveTasks.
func (t *moveTask) entry() moveTaskEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := moveTaskEntry{
		Status: t.status, SourceArn: t.sourceARN, DestinationArn: t.destARN,
		ApproximateNumberOfMessagesMoved: t.moved, ApproximateNumberOfMessagesToMove: t.toMove,
		FailureReason: t.reason, StartedTimestamp: t.started.UnixMilli(),
	}
	if t.status == "RUNNING" {
		e.TaskHandle = t.handle
	}
	if t.rate > 0 {
		rate := t.rate
		e.MaxNumberOfMessagesPerSecond = &rate
	}
	return e
}

// addTask records a new task unless one is running on the same source queue
// already (taking each task's lock under the service's: lock order rule 1).
func (sq *sqsService) addTask(t *moveTask) *APIError {
	sq.mu.Lock()
	defer sq.mu.Unlock()
	for _, o := range sq.tasks {
		if o.sourceARN == t.sourceARN && o.running() {
			return errUnsupportedOperation("A message move task is already running on queue %s.", t.sourceARN)
		}
	}
	sq.tasks = append(sq.tasks, t)
	return nil
}

// tasksOf returns the tasks of a source queue.
func (sq *sqsService) tasksOf(sourceARN string) []*moveTask {
	sq.mu.RLock()
	defer sq.mu.RUnlock()
	var out []*moveTask
	for _, t := range sq.tasks {
		if t.sourceARN == sourceARN {
			out = append(out, t)
		}
	}
	return out
}

// task returns the task with the given handle, or nil.
func (sq *sqsService) task(handle string) *moveTask {
	sq.mu.RLock()
	defer sq.mu.RUnlock()
	for _, t := range sq.tasks {
		if t.handle == handle {
			return t
		}
	}
	return nil
}

type startMoveInput struct {
	SourceArn                    string  `json:"SourceArn"`
	DestinationArn               string  `json:"DestinationArn"`
	MaxNumberOfMessagesPerSecond flexInt `json:"MaxNumberOfMessagesPerSecond"`
}

type taskHandleOutput struct {
	TaskHandle string `json:"TaskHandle"`
}

func errNoSuchResource(param string) *APIError {
	return sqsErr("ResourceNotFoundException", "ResourceNotFoundException", "The resource that you specified for the %s parameter doesn't exist.", param)
}

func (sq *sqsService) startMessageMoveTask(r *request) (any, *APIError) {
	var in startMoveInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	if in.SourceArn == "" {
		return nil, errMissingParameter("SourceArn")
	}
	src := sq.queueByARN(in.SourceArn)
	if src == nil {
		return nil, errNoSuchResource("SourceArn")
	}
	if in.DestinationArn != "" && sq.queueByARN(in.DestinationArn) == nil {
		return nil, errNoSuchResource("DestinationArn")
	}
	rate := 0
	if in.MaxNumberOfMessagesPerSecond.Set {
		if in.MaxNumberOfMessagesPerSecond.Value < 1 || in.MaxNumberOfMessagesPerSecond.Value > 500 {
			return nil, errInvalidParameterValue("Value %d for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be from 1 to 500.", in.MaxNumberOfMessagesPerSecond.Value)
		}
		rate = int(in.MaxNumberOfMessagesPerSecond.Value)
	}
	t := &moveTask{
		handle:    src.newID(),
		sourceARN: in.SourceArn, destARN: in.DestinationArn, rate: rate, started: r.now,
		status: "RUNNING", cancel: make(chan struct{}),
	}
	if e := sq.addTask(t); e != nil {
		return nil, e
	}
	t.setToMove(src.visibleCount())
	if !sq.life.goBackground(func() { sq.runMoveTask(t, src) }) {
		t.finish("CANCELLED", "the server is shutting down")
	}
	return taskHandleOutput{t.handle}, nil
}

// runMoveTask moves the visible messages of the source queue to the
// destination, or each to the queue it was dead-lettered from: all at once,
// or rate messages a second.
func (sq *sqsService) runMoveTask(t *moveTask, src *queue) {
	chunk := 0 // everything at once
	var tick *time.Ticker
	if t.rate > 0 {
		chunk = t.rate
		tick = time.NewTicker(time.Second)
		defer tick.Stop()
	}
	for {
		msgs := src.takeVisible(chunk, sq.now())
		if !sq.moveAll(t, msgs) {
			t.finish("FAILED", "AWS.SimpleQueueService.NonExistentQueue")
			return
		}
		if chunk == 0 || len(msgs) < chunk {
			t.finish("COMPLETED", "")
			return
		}
		select {
		case <-tick.C:
		case <-t.cancel:
			t.finish("CANCELLED", "")
			return
		case <-sq.life.closed:
			t.finish("CANCELLED", "")
			return
		}
	}
}

// moveAll stores messages taken from a task's source queue in their
// destinations, a run of messages with the same destination at a time. It
// reports false when a destination queue does not exist; the messages not
// moved by then are lost, as when AWS fails a task.
func (sq *sqsService) moveAll(t *moveTask, msgs []*message) bool {
	destOf := func(m *message) string {
		if t.destARN != "" {
			return t.destARN
		}
		return m.dlqSource
	}
	for len(msgs) > 0 {
		dest := destOf(msgs[0])
		n := 1
		for n < len(msgs) && destOf(msgs[n]) == dest {
			n++
		}
		dq := sq.queueByARN(dest)
		if dq == nil {
			return false
		}
		// The messages left the source under its lock and belong to this
		// task until the destination has them.
		for _, m := range msgs[:n] {
			m.receives, m.firstReceive, m.dlqSource, m.receipt = 0, time.Time{}, "", ""
		}
		dq.enqueueMoved(msgs[:n], sq.now())
		t.addMoved(n)
		msgs = msgs[n:]
	}
	return true
}

type listMoveTasksInput struct {
	SourceArn  string  `json:"SourceArn"`
	MaxResults flexInt `json:"MaxResults"`
}

type moveTaskEntry struct {
	TaskHandle                        string `json:"TaskHandle,omitempty"`
	Status                            string `json:"Status"`
	SourceArn                         string `json:"SourceArn"`
	DestinationArn                    string `json:"DestinationArn,omitempty"`
	MaxNumberOfMessagesPerSecond      *int   `json:"MaxNumberOfMessagesPerSecond,omitempty"`
	ApproximateNumberOfMessagesMoved  int64  `json:"ApproximateNumberOfMessagesMoved"`
	ApproximateNumberOfMessagesToMove int64  `json:"ApproximateNumberOfMessagesToMove"`
	FailureReason                     string `json:"FailureReason,omitempty"`
	StartedTimestamp                  int64  `json:"StartedTimestamp"`
}

type listMoveTasksOutput struct {
	Results []moveTaskEntry `json:"Results" q:"ListMessageMoveTasksResultEntry"`
}

func (sq *sqsService) listMessageMoveTasks(r *request) (any, *APIError) {
	var in listMoveTasksInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	if in.SourceArn == "" {
		return nil, errMissingParameter("SourceArn")
	}
	if sq.queueByARN(in.SourceArn) == nil {
		return nil, errNoSuchResource("SourceArn")
	}
	limit := 1
	if in.MaxResults.Set {
		if in.MaxResults.Value < 1 || in.MaxResults.Value > 10 {
			return nil, errInvalidParameterValue("Value %d for parameter MaxResults is invalid. Reason: must be from 1 to 10.", in.MaxResults.Value)
		}
		limit = int(in.MaxResults.Value)
	}
	tasks := sq.tasksOf(in.SourceArn)
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].started.After(tasks[j].started) })
	out := listMoveTasksOutput{Results: []moveTaskEntry{}}
	for _, t := range tasks[:min(limit, len(tasks))] {
		out.Results = append(out.Results, t.entry())
	}
	return out, nil
}

type cancelMoveInput struct {
	TaskHandle string `json:"TaskHandle"`
}

type cancelMoveOutput struct {
	ApproximateNumberOfMessagesMoved int64 `json:"ApproximateNumberOfMessagesMoved"`
}

func (sq *sqsService) cancelMessageMoveTask(r *request) (any, *APIError) {
	var in cancelMoveInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	if in.TaskHandle == "" {
		return nil, errMissingParameter("TaskHandle")
	}
	t := sq.task(in.TaskHandle)
	if t == nil {
		return nil, sqsErr("ResourceNotFoundException", "ResourceNotFoundException", "The task handle %s does not exist.", in.TaskHandle)
	}
	moved, e := t.stop(in.TaskHandle)
	if e != nil {
		return nil, e
	}
	return cancelMoveOutput{moved}, nil
}
