package event_test

import (
	"context"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/event"
)

// opStats is a minimal exporter: it counts operations by kind and outcome
// and sums their durations. It only touches atomics, so it never blocks
// the session actor that reports to it.
type opStats struct {
	n     [3][4]atomic.Int64 // [event.OpKind][event.Outcome]
	nanos atomic.Int64
	waits atomic.Int64
}

func (s *opStats) Event(e event.Event) {
	switch e.Kind {
	case event.Op:
		s.n[e.Op][e.Outcome].Add(1)
		s.nanos.Add(int64(e.Duration))
	case event.LockWait:
		s.waits.Add(1)
	}
}

// A Sink set as Config.Events sees every event the Manager reports; an
// exporter (OpenTelemetry, Prometheus) is such a Sink.
func Example() {
	s := &opStats{}
	m, err := phpsession.OpenURL("redis://127.0.0.1:6379/0", phpsession.Config{Events: s})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(context.Background())
	// ... serve requests ...
	reads := s.n[event.Read][event.OK].Load()
	log.Printf("%d reads ok, %d lock waits, %v in operations", reads, s.waits.Load(), time.Duration(s.nanos.Load()))
}

// Multi hands each event to several sinks, e.g. two exporters.
func ExampleMulti() {
	var batches, ops atomic.Int64
	sink := event.Multi(
		event.Func(func(e event.Event) {
			if e.Kind == event.Batch {
				batches.Add(int64(e.Ops))
			}
		}),
		event.Func(func(e event.Event) {
			if e.Kind == event.Op {
				ops.Add(1)
			}
		}),
	)
	sink.Event(event.Event{Kind: event.Op, Op: event.Update})
	sink.Event(event.Event{Kind: event.Batch, Ops: 1})
	fmt.Println(batches.Load(), ops.Load())
	// Output: 1 1
}
