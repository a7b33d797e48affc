package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/bulwark-sec/bulwark/internal/config"
	"github.com/prometheus/client_golang/prometheus"
)

// Log fans events out to the configured sinks. It is safe for concurrent
// use; each event is one line, written whole.
type Log struct {
	mu     sync.Mutex
	sinks  []sink
	stdout io.Writer
	errs   prometheus.Counter
	events *prometheus.CounterVec
}

type sink struct {
	name string
	w    io.Writer
	c    io.Closer // nil for stdout
}

// NewLog returns a Log with no sinks; Configure opens them. stdout is where
// a "stdout" sink writes (os.Stdout in production).
func NewLog(stdout io.Writer, reg prometheus.Registerer) *Log {
	l := &Log{
		stdout: stdout,
		errs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bulwark_events_write_errors_total",
			Help: "Event lines that a sink failed to write.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_events_total",
			Help: "Events written, by type.",
		}, []string{"type"}),
	}
	reg.MustRegister(l.errs, l.events)
	return l
}

// Configure opens the sinks of cfg and swaps them in, closing the previous
// ones. File sinks are opened anew on every call, which is how log
// rotation works: rotate, then reload. If any sink cannot be opened the
// previous sinks stay in place and the error names the sink.
func (l *Log) Configure(cfg []config.Sink) error {
	var opened []sink
	for i, s := range cfg {
		switch s.Type {
		case "stdout":
			opened = append(opened, sink{name: "stdout", w: l.stdout})
		case "file":
			f, err := os.OpenFile(s.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
			if err != nil {
				closeSinks(opened)
				return fmt.Errorf("events.sinks[%d]: open %s: %w", i, s.Path, unwrapPath(err))
			}
			opened = append(opened, sink{name: s.Path, w: f, c: f})
		}
	}
	l.mu.Lock()
	old := l.sinks
	l.sinks = opened
	l.mu.Unlock()
	closeSinks(old)
	return nil
}

func closeSinks(ss []sink) {
	for _, s := range ss {
		if s.c != nil {
			s.c.Close()
		}
	}
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Emit writes v as one JSON line to every sink. typ is the event type, for
// the events metric. A sink that fails is counted, not retried: events must
// never stall requests.
func (l *Log) Emit(typ string, v any) {
	line, err := json.Marshal(v)
	if err != nil {
		l.errs.Inc()
		return
	}
	line = append(line, '\n')
	l.events.WithLabelValues(typ).Inc()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.sinks {
		if _, err := s.w.Write(line); err != nil {
			l.errs.Inc()
		}
	}
}

// Close closes the file sinks.
func (l *Log) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	closeSinks(l.sinks)
	l.sinks = nil
}
