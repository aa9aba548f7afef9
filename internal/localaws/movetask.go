package localaws

import (
	"sort"
	"sync"
	"time"
)

// moveTask is a message move task (DLQ redrive).
type moveTask struct {
	handle    string
	sourceARN string
	destARN   string
	rate      int
	started   time.Time

	mu     sync.Mutex
	status string
	moved  int64
	toMove int64
	reason string
	cancel chan struct{}
}

type startMoveInput struct {
	SourceArn                    string  `json:"SourceArn"`
	DestinationArn               string  `json:"DestinationArn"`
	MaxNumberOfMessagesPerSecond flexInt `json:"MaxNumberOfMessagesPerSecond"`
}

type taskHandleOutput struct {
	TaskHandle string `json:"TaskHandle"`
}

func (s *Server) startMessageMoveTask(r *request) (any, *APIError) {
	var in startMoveInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	if in.SourceArn == "" {
		return nil, errMissingParameter("SourceArn")
	}
	src := s.queueByARN(in.SourceArn)
	if src == nil {
		return nil, sqsErr("ResourceNotFoundException", "ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	if in.DestinationArn != "" && s.queueByARN(in.DestinationArn) == nil {
		return nil, sqsErr("ResourceNotFoundException", "ResourceNotFoundException", "The resource that you specified for the DestinationArn parameter doesn't exist.")
	}
	rate := 0
	if in.MaxNumberOfMessagesPerSecond.Set {
		if in.MaxNumberOfMessagesPerSecond.Value < 1 || in.MaxNumberOfMessagesPerSecond.Value > 500 {
			return nil, errInvalidParameterValue("Value %d for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be from 1 to 500.", in.MaxNumberOfMessagesPerSecond.Value)
		}
		rate = int(in.MaxNumberOfMessagesPerSecond.Value)
	}
	s.mu.Lock()
	for _, t := range s.tasks {
		t.mu.Lock()
		running := t.status == "RUNNING" && t.sourceARN == in.SourceArn
		t.mu.Unlock()
		if running {
			s.mu.Unlock()
			return nil, errUnsupportedOperation("A message move task is already running on queue %s.", in.SourceArn)
		}
	}
	t := &moveTask{
		handle:    src.newHandle(),
		sourceARN: in.SourceArn, destARN: in.DestinationArn, rate: rate, started: r.now,
		status: "RUNNING", cancel: make(chan struct{}),
	}
	s.tasks = append(s.tasks, t)
	s.mu.Unlock()
	src.mu.Lock()
	t.toMove = int64(src.nVisible)
	src.mu.Unlock()
	if !s.goBackground(func() { s.runMoveTask(t, src) }) {
		t.mu.Lock()
		t.status, t.reason = "CANCELLED", "the server is shutting down"
		t.mu.Unlock()
	}
	return taskHandleOutput{t.handle}, nil
}

func (q *queue) newHandle() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.newID()
}

// runMoveTask moves the visible messages of the source queue to the
// destination, or each to the queue it was dead-lettered from.
func (s *Server) runMoveTask(t *moveTask, src *queue) {
	chunk := 0 // everything at once
	var tick *time.Ticker
	if t.rate > 0 {
		chunk = t.rate
		tick = time.NewTicker(time.Second)
		defer tick.Stop()
	}
	finish := func(status, reason string) {
		t.mu.Lock()
		t.status, t.reason = status, reason
		t.mu.Unlock()
	}
	for {
		src.mu.Lock()
		msgs := src.takeAll(chunk, s.now())
		src.mu.Unlock()
		for _, m := range msgs {
			dest := t.destARN
			if dest == "" {
				dest = m.dlqSource
			}
			dq := s.queueByARN(dest)
			if dq == nil {
				finish("FAILED", "AWS.SimpleQueueService.NonExistentQueue")
				return
			}
			dq.mu.Lock()
			m.receives, m.firstReceive, m.dlqSource, m.receipt = 0, time.Time{}, "", ""
			if dq.fifo {
				m.seq = dq.nextSeq()
			}
			dq.enqueue(m, 0, s.now())
			dq.mu.Unlock()
			t.mu.Lock()
			t.moved++
			t.mu.Unlock()
		}
		if chunk == 0 || len(msgs) < chunk {
			finish("COMPLETED", "")
			return
		}
		select {
		case <-tick.C:
		case <-t.cancel:
			finish("CANCELLED", "")
			return
		case <-s.closed:
			finish("CANCELLED", "")
			return
		}
	}
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

func (s *Server) listMessageMoveTasks(r *request) (any, *APIError) {
	var in listMoveTasksInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	if in.SourceArn == "" {
		return nil, errMissingParameter("SourceArn")
	}
	if s.queueByARN(in.SourceArn) == nil {
		return nil, sqsErr("ResourceNotFoundException", "ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	limit := 1
	if in.MaxResults.Set {
		if in.MaxResults.Value < 1 || in.MaxResults.Value > 10 {
			return nil, errInvalidParameterValue("Value %d for parameter MaxResults is invalid. Reason: must be from 1 to 10.", in.MaxResults.Value)
		}
		limit = int(in.MaxResults.Value)
	}
	s.mu.RLock()
	var tasks []*moveTask
	for _, t := range s.tasks {
		if t.sourceARN == in.SourceArn {
			tasks = append(tasks, t)
		}
	}
	s.mu.RUnlock()
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].started.After(tasks[j].started) })
	out := listMoveTasksOutput{Results: []moveTaskEntry{}}
	for _, t := range tasks {
		if len(out.Results) == limit {
			break
		}
		t.mu.Lock()
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
		t.mu.Unlock()
		out.Results = append(out.Results, e)
	}
	return out, nil
}

type cancelMoveInput struct {
	TaskHandle string `json:"TaskHandle"`
}

type cancelMoveOutput struct {
	ApproximateNumberOfMessagesMoved int64 `json:"ApproximateNumberOfMessagesMoved"`
}

func (s *Server) cancelMessageMoveTask(r *request) (any, *APIError) {
	var in cancelMoveInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	if in.TaskHandle == "" {
		return nil, errMissingParameter("TaskHandle")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, t := range s.tasks {
		if t.handle != in.TaskHandle {
			continue
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.status != "RUNNING" {
			return nil, errUnsupportedOperation("The message move task %s is not running (status %s).", in.TaskHandle, t.status)
		}
		close(t.cancel)
		t.status = "CANCELLING"
		return cancelMoveOutput{t.moved}, nil
	}
	return nil, sqsErr("ResourceNotFoundException", "ResourceNotFoundException", "The task handle %s does not exist.", in.TaskHandle)
}
