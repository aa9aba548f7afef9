package localaws

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Fault makes an operation fail or slow down, for testing how clients cope.
// A fault applies to requests of Action (such as "SendMessage" or "Publish";
// "*" for every action) until it has been applied Times times (0: no limit)
// or until For has passed since it was injected (0: no limit).
type Fault struct {
	// Action is the operation name the fault applies to, or "*".
	Action string `json:"action"`
	// Err, when set, is answered instead of running the operation.
	Err *APIError `json:"error,omitempty"`
	// Delay, when set, is waited before the operation runs (or fails).
	Delay time.Duration `json:"delay,omitempty"`
	// Times bounds how many requests the fault applies to.
	Times int `json:"times,omitempty"`
	// For bounds how long the fault stays in place.
	For time.Duration `json:"for,omitempty"`
}

type activeFault struct {
	Fault
	until time.Time
	used  int
}

// faultSet holds the injected faults. Its mu is a leaf lock, held only to
// pick a fault: the delay is waited after it is released.
type faultSet struct {
	mu     sync.Mutex
	faults []*activeFault
}

// InjectFault adds a fault. Faults apply in the order they were added; the
// first that matches a request is used.
func (s *Server) InjectFault(f Fault) {
	a := &activeFault{Fault: f}
	if f.For > 0 {
		a.until = s.now().Add(f.For)
	}
	s.faults.add(a)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() { s.faults.clear() }

func (fs *faultSet) add(a *activeFault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = append(fs.faults, a)
}

func (fs *faultSet) clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = nil
}

// take finds the fault for action and counts its use, dropping faults that
// are used up or expired; it returns a copy, or nil.
func (fs *faultSet) take(action string, now time.Time) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.faults) == 0 {
		return nil
	}
	var hit *Fault
	kept := fs.faults[:0]
	for _, f := range fs.faults {
		if !f.until.IsZero() && !now.Before(f.until) || f.Times > 0 && f.used >= f.Times {
			continue
		}
		if hit == nil && (f.Action == action || f.Action == "*") {
			c := f.Fault
			hit = &c
			f.used++
		}
		kept = append(kept, f)
	}
	fs.faults = kept
	return hit
}

// apply finds the fault for action, waits its delay (cut short when ctx ends
// or closed is closed) with no lock held, and returns its error.
func (fs *faultSet) apply(ctx context.Context, log *slog.Logger, closed <-chan struct{}, action string, now time.Time) *APIError {
	hit := fs.take(action, now)
	if hit == nil {
		return nil
	}
	if hit.Delay > 0 {
		log.Debug("fault delays a request", "action", action, "delay", hit.Delay)
		t := time.NewTimer(hit.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-closed:
		}
	}
	if hit.Err == nil {
		return nil
	}
	e := *hit.Err
	if e.Type == "" {
		e.Type = e.Code
	}
	if e.Message == "" {
		e.Message = "injected fault"
	}
	return &e
}

const adminPrefix = "/_localaws/"

// faultRequest is the JSON body of POST /_localaws/faults.
type faultRequest struct {
	Action  string `json:"action"`
	Code    string `json:"code"`
	Type    string `json:"type"`
	Message string `json:"message"`
	Status  int    `json:"status"`
	Server  bool   `json:"server"`
	Delay   string `json:"delay"`
	Times   int    `json:"times"`
	For     string `json:"for"`
}

// ParseFault builds a Fault from its JSON form, as accepted by the admin
// endpoint: {"action": "SendMessage", "code": "RequestThrottled",
// "type": "RequestThrottled", "message": "...", "status": 400,
// "server": false, "delay": "200ms", "times": 3, "for": "10s"}.
func ParseFault(b []byte) (Fault, error) {
	var fr faultRequest
	if err := json.Unmarshal(b, &fr); err != nil {
		return Fault{}, fmt.Errorf("decode fault: %w", err)
	}
	if fr.Action == "" {
		return Fault{}, fmt.Errorf("fault needs an action")
	}
	f := Fault{Action: fr.Action, Times: fr.Times}
	var err error
	if fr.Delay != "" {
		if f.Delay, err = time.ParseDuration(fr.Delay); err != nil {
			return Fault{}, fmt.Errorf("fault delay: %w", err)
		}
	}
	if fr.For != "" {
		if f.For, err = time.ParseDuration(fr.For); err != nil {
			return Fault{}, fmt.Errorf("fault for: %w", err)
		}
	}
	if fr.Code != "" {
		typ := fr.Type
		if typ == "" {
			typ = fr.Code
		}
		f.Err = &APIError{Type: typ, Code: fr.Code, Message: fr.Message, Status: fr.Status, Server: fr.Server}
	}
	if f.Err == nil && f.Delay == 0 {
		return Fault{}, fmt.Errorf("fault needs a code or a delay")
	}
	return f, nil
}

// serveAdmin serves the admin endpoints:
//
//	POST   /_localaws/faults  add a fault (JSON, see ParseFault)
//	DELETE /_localaws/faults  remove every fault
//	GET    /_localaws/health  200 when serving
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == adminPrefix+"health" && r.Method == http.MethodGet:
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok\n"))
	case r.URL.Path == adminPrefix+"faults" && r.Method == http.MethodPost:
		b, err := readLimited(r, 1<<16)
		if err == nil {
			var f Fault
			if f, err = ParseFault(b); err == nil {
				s.InjectFault(f)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
	case r.URL.Path == adminPrefix+"faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "unknown admin endpoint", http.StatusNotFound)
	}
}
