package actor

import (
	"time"

	"github.com/phpsession/phpsession/event"
)

// contendedFor is how long after seeing a foreign lock holder the actor
// keeps using Settings.ContendedGap.
const contendedFor = time.Second

// fairness is the bookkeeping behind the pauses that leave PHP a free lock
// window. It is part of sessionActor: only the actor goroutine touches it.
// The locked path (locked.go) records each hold; fairnessPause reads it
// before the next locked batch.
type fairness struct {
	lastRelease time.Time     // when our last lock was released (Commit or Release returned)
	lastHold    time.Duration // how long our last lock was held
	busySince   time.Time     // start of the current stretch without a free gap
	foreignSeen bool          // the last locked batch saw a foreign holder or foreign write
	// contendedUntil: a foreign holder was seen recently; until then the
	// longer ContendedGap is used (PHP is active on this session and its
	// retries may be spaced wider than lock_wait_time on a busy host).
	contendedUntil time.Time
}

// fairnessPause leaves PHP a free lock window before the next batch when
// the lock has been busy (held by us, or by others while we waited) for
// about a Window without a free Gap, and right after a batch that had to
// wait for a foreign holder (PHP requests are then likely queued behind it:
// each such gap lets one more in). It reports whether it paused.
func (a *sessionActor) fairnessPause() bool {
	f := &a.fair
	gap := a.set.Gap
	if gap <= 0 || f.lastRelease.IsZero() {
		return false
	}
	now := time.Now()
	if now.Before(f.contendedUntil) && a.set.ContendedGap > gap {
		gap = a.set.ContendedGap
	}
	if now.Sub(f.lastRelease) >= gap {
		f.busySince = time.Time{}
		f.foreignSeen = false
		return false
	}
	if f.busySince.IsZero() {
		f.busySince = f.lastRelease.Add(-f.lastHold)
	}
	est := 2*f.lastHold + 200*time.Microsecond
	if !f.foreignSeen && now.Add(est).Sub(f.busySince) < a.set.Window-gap {
		return false
	}
	d := f.lastRelease.Add(gap).Sub(now)
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-a.env.Ctx.Done():
			t.Stop()
		}
		a.emit(event.Event{Kind: event.Gap, Duration: d})
	}
	f.busySince = time.Time{}
	f.foreignSeen = false
	return true
}

// lockTaken records the start of a locked batch: t0 is when it asked for
// the lock, lockedAt when it got it; foreign reports a foreign holder or a
// foreign write since our last commit.
func (f *fairness) lockTaken(t0, lockedAt time.Time, foreign bool) {
	if f.busySince.IsZero() {
		// a new busy stretch starts (a foreign hold is busy time too)
		f.busySince = t0
	}
	if foreign {
		f.foreignSeen = true
		f.contendedUntil = lockedAt.Add(contendedFor)
	}
}
