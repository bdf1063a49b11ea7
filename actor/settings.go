package actor

import "time"

// Settings tune the actors. They carry resolved values: the package has
// no defaults (the Manager computes them in one place, its config.go). A
// zero value means what is noted on each field.
type Settings struct {
	// MaxBatch caps the operations in one batch (less than 1: 1).
	MaxBatch int
	// MaxHold caps how long one locked batch applies operations while
	// holding the lock; what does not fit runs in the next batch (0: one
	// operation per batch).
	MaxHold time.Duration
	// RenewAfter renews the lock when a batch has held it this long
	// (should be well below the lock expiry; 0: never renewed).
	RenewAfter time.Duration
	// LockTimeout bounds the wait for the lock (0: only Env.Ctx and the
	// store bound it).
	LockTimeout time.Duration
	// LockLostRetries is how often a batch is re-run after a lost lock
	// before its callers get redisio.ErrLockLost (0 or less: never).
	LockLostRetries int
	// IdleTimeout passivates an actor idle this long (0: as soon as it is
	// idle).
	IdleTimeout time.Duration
	// Gap and Window implement fairness to PHP: while the actor keeps the
	// lock busy, it leaves the lock free for at least Gap in every Window
	// (Window > Gap; FairnessFromPHP derives both). Gap 0 disables this.
	Gap, Window time.Duration
	// Linger is how long a hot session's actor yields before a batch so
	// that callers answered by the previous batch can join (0: off).
	Linger time.Duration
	// ContendedGap replaces Gap for a while after a foreign holder (PHP)
	// was seen on the session (0: Gap).
	ContendedGap time.Duration
	// LeaseExpiry is the PX of the write lease that keeps the processes
	// of this package from writing one hot session at the same time
	// (lease.go; 0: no lease). A holder that stops or crashes delays the
	// others by at most this.
	LeaseExpiry time.Duration
	// LeaseTerm is how long a process keeps the lease, while another
	// waits for it, before it hands it over (also how long an idle holder
	// keeps it).
	LeaseTerm time.Duration
	// NoLockFree makes every batch take the lock, even where the store
	// can write this session lock-free (Store.CanWriteIfUnlocked).
	NoLockFree bool
	// ReadRefresh makes reads of an existing session refresh its TTL
	// (Store.Touch, PHP's update_timestamp on a read-only request) when
	// it was last refreshed, by a read or a write, at least this long ago
	// (0: reads never refresh).
	ReadRefresh time.Duration
}

// FairnessFromPHP derives Gap and Window from phpredis's lock_wait_time and
// lock_retries: PHP tries every wait for retries+1 attempts, so a free gap a
// little longer than wait in every window of half retries×wait lets one of
// its attempts land. While PHP is seen active on a session the gap grows to
// twice wait (contendedGap), since a loaded host stretches PHP's sleeps.
// retries < 0 (PHP waits forever) returns zeros.
func FairnessFromPHP(wait time.Duration, retries int) (gap, window, contendedGap time.Duration) {
	if retries < 0 || wait <= 0 {
		return 0, 0, 0
	}
	if retries == 0 {
		retries = 1
	}
	gap = wait + wait/4 + 200*time.Microsecond
	window = time.Duration(retries) * wait / 2
	contendedGap = 2*wait + 200*time.Microsecond
	if window < 2*contendedGap {
		window = 2 * contendedGap
	}
	return gap, window, contendedGap
}
