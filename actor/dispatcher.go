package actor

import (
	"sync"
	"sync/atomic"
	"time"
)

// dispatcher is the protoactor Dispatcher of every session actor: it runs
// mailbox bursts on reusable goroutines. protoactor's default dispatcher
// starts a fresh goroutine per burst, whose small stack then grows again
// on every burst (measured: ~40% of a cached read's CPU went to stack
// copying). Idle workers wait briefly for the next burst and exit
// after idleFor, or when the system shuts down. A worker is never shared
// while busy, so a burst blocked on Redis cannot delay another session.
type dispatcher struct {
	work    chan func() // unbuffered: a send succeeds only if a worker is idle
	stop    chan struct{}
	idle    atomic.Int32
	maxIdle int32
	idleFor time.Duration
	wg      sync.WaitGroup
	once    sync.Once
}

func newDispatcher(maxIdle int, idleFor time.Duration) *dispatcher {
	return &dispatcher{work: make(chan func()), stop: make(chan struct{}), maxIdle: int32(maxIdle), idleFor: idleFor}
}

// Schedule implements protoactor's Dispatcher: it runs fn on an idle
// worker, or on a new one.
func (d *dispatcher) Schedule(fn func()) {
	select {
	case d.work <- fn:
	default:
		d.wg.Add(1)
		go d.worker(fn)
	}
}

// Throughput implements protoactor's Dispatcher: how many messages a burst
// delivers before it yields the goroutine (runtime.Gosched).
func (d *dispatcher) Throughput() int { return 300 }

func (d *dispatcher) worker(fn func()) {
	defer d.wg.Done()
	var t *time.Timer
	for {
		fn()
		if d.idle.Add(1) > d.maxIdle {
			d.idle.Add(-1)
			return
		}
		if t == nil {
			t = time.NewTimer(d.idleFor)
		} else {
			t.Reset(d.idleFor)
		}
		select {
		case fn = <-d.work:
			d.idle.Add(-1)
			if !t.Stop() {
				<-t.C
			}
		case <-t.C:
			d.idle.Add(-1)
			return
		case <-d.stop:
			d.idle.Add(-1)
			t.Stop()
			return
		}
	}
}

// shutdown stops idle workers and waits for busy ones to finish.
func (d *dispatcher) shutdown() {
	d.once.Do(func() { close(d.stop) })
	d.wg.Wait()
}
