// Package redisio speaks phpredis's session protocol on a rueidis client:
// the same keys, the same lock key and the same lock release script as PHP's
// `session.save_handler=redis`, with fewer round trips, lock waits woken by
// client-tracking invalidations, and client-side cached reads that stay
// fresh. It knows nothing of PHP values: session data is opaque bytes.
//
// # Keys
//
// Data: Prefix + id (default "PHPREDIS_SESSION:"; phpredis's cluster handler
// uses "PHPREDIS_CLUSTER_SESSION:"). Lock: Prefix + id + LockSuffix (default
// "_LOCK"). Lock values are opaque; our tokens are
// "<host>|<pid>|go<n>:<random>", unique per holder, so two Stores (or two
// holders in one Store) never release each other's lock.
//
// # Command sequences, next to phpredis 5.3/6.x
//
// K = data key, L = lock key, tok = our token, S = PHP's secret.
//
//	operation            phpredis (standalone handler)         redisio, standalone/Sentinel          redisio, cluster (split)
//	-------------------  ------------------------------------  ------------------------------------  ------------------------------------
//	lock + read          SET L S NX [PX ms] (retry every        one round trip, one connection:       SET L tok NX PX ms; after its reply:
//	(LockAndRead)        lock_wait_time µs, lock_retries        SET L tok NX PX ms,                    DoCache GET K (a hit is confirmed
//	                     times), then GET K                     CLIENT CACHING YES, GET K (no CLIENT   by PTTL K on K's node, then re-read)
//	                                                           CACHING with LockAndReadUntracked)
//	lock busy            sleep lock_wait_time, SET again       DoCache GET L (arms tracking of L),   same, on L's node
//	                                                           wait for invalidation of L | timer
//	                                                           at L's PTTL | safety poll | ctx,
//	                                                           then SET again
//	write + release      [GET L, if lock_expire≠0] SETEX K     one round trip, one Lua script:       EVALSHA renew (token-checked PEXPIRE
//	(Commit WriteData)   ttl data; EVALSHA release (NOSCRIPT   if GET L==tok {SETEX K; DEL L},       L) → SETEX K ttl data + PTTL K
//	                     → EVAL)                               pipelined with PTTL K (barrier) if K  → EVALSHA release L (after the ack)
//	                                                           may be tracked/cached for us
//	unchanged data       EXPIRE K ttl; EVALSHA release         same script with EXPIRE K             renew → EXPIRE K → release
//	(Commit WriteTouch)
//	destroy under lock   EVALSHA release, then DEL K           same script with DEL K (DEL before    renew → DEL K → release
//	(Commit WriteDelete)                                       release: no window)
//	release only         EVALSHA b70c2384… 1 L S               EVALSHA b70c2384… 1 L tok             same
//	(Release)            (NOSCRIPT → EVAL, same 95 bytes)      (NOSCRIPT → EVAL, same 95 bytes)
//	renew (Renew)        (never: phpredis has no renew)        EVALSHA renew: if GET L==tok then     same
//	                                                           PEXPIRE L ms
//	lock-free write      (none: phpredis always locks)         one round trip, one Lua script: if    ErrCrossSlot unless K and L share
//	(WriteIfUnlocked)                                          EXISTS L {held} elseif GET K ≠        a slot (then as standalone)
//	                                                           expected {changed, K} else SETEX/
//	                                                           EXPIRE/DEL K [, SET M 1 PX with
//	                                                           WriteMarkers; M = phpsession:lf:K:tok]
//	                                                           (+ PTTL K barrier as for Commit);
//	                                                           lost reply: [EXISTS M,] GET K
//	wait for release     sleep lock_wait_time, SET NX again    DoCache GET L, wait for its           same, on L's node
//	(WaitUnlocked)                                             invalidation | timer | poll; never
//	                                                           takes the lock
//	unlocked read (Get)  GET K                                 DoCache GET K (0 round trips on hit)  same
//	strict validation    EXISTS K                              EXISTS K                              EXISTS K
//	unlocked destroy     DEL K                                 DEL K                                 DEL K
//	refresh (Touch)      EXPIRE K ttl                          EXPIRE K ttl                          EXPIRE K ttl
//
// Round trips of one locked update (lock, read, write, release), measured by
// TestRoundTrips: phpredis 4 (SET NX, GET, SETEX, EVALSHA; 5 with
// lock_expire's GET L check); redisio standalone/Sentinel 2; redisio cluster
// 5 (SET NX; GET K or, for a cached K, the PTTL K barrier; renew; SETEX +
// PTTL; release), 6 when the barrier finds the cached K stale and re-reads.
//
// A lost Commit or SET NX reply (network error, timeout) is reconciled by
// token: GET L on the same connection (ordered behind the lost command) says
// whether we hold the lock; a held lock lets Commit resend its idempotent
// write; a lock gone before its earliest possible expiry proves the commit
// script ran. SET NX is never retried blindly, and nothing is reported as
// written unless Redis acknowledged it (see Commit and ErrOutcomeUnknown).
//
// # Pinned read commands
//
// rueidis retries read-only commands (GET, PTTL, EXISTS, cached GETs) on a
// new connection after a connection error, and recycles a command's memory
// once it got its reply; the dead connection's writer goroutine may still
// be reading that command then (a data race the race detector reports
// under CLIENT KILL, and the kind of crash of rueidis issue #702). The
// Store builds those commands with Pin(), so they are never recycled.
//
// # Why one connection
//
// Open sets PipelineMultiplex -1: one pipelined connection per server, with
// default OPTIN tracking. Redis writes the invalidation of K into our
// connection's output before it executes the writer's lock release, so the
// reply to our SET L NX, arriving on the same connection, comes after it,
// and a DoCache GET K that follows cannot be stale. With rueidis's default
// multiplexing (several connections), stale reads were measured. In a
// cluster L and K usually live on different nodes, so LockAndRead confirms a
// cached K with a keyed round trip on K's node. After a failover or a
// migration that node may no longer serve K's slot while its connection
// still caches K: every connection Open makes drops its client-side cache
// right before it delivers a MOVED reply (moved.go), so the round trip,
// answered MOVED, empties that cache before K is read again. Our own writes invalidate
// our cache only after their reply (Redis ≥ 7.0), so Commit pipelines a
// PTTL K behind the write: Commit returns after the invalidation arrived.
// The Store records which data keys may be tracked or cached for us (set
// before a DoCache or tracked LockAndRead is sent, dropped when the key's
// invalidation is processed with none in flight); Commit sends the barrier
// only for those, and once more after the script's reply if a cached read
// of K started meanwhile. LockAndReadUntracked (used by the coordinator,
// which always writes before it releases) does not arm tracking, so a
// batch on a session nobody reads through the cache costs 6 commands
// (SET NX, GET, EVALSHA with GET L, SETEX, DEL L inside) instead of 8.
//
// Lock expiry does not reliably produce an invalidation (Redis sends it
// when the expired key is actually deleted), so waits also use a timer at
// the lock's PTTL. Locks without TTL (PHP CLI, crashed requests) end a wait
// at Config.LockTimeout or the ctx deadline with an ErrLockTimeout that
// names the holder's token.
//
// Topologies: standalone, Sentinel and Redis Cluster, as rueidis reaches
// them. Keys in different slots are never combined in one command or script.
// Note that phpredis's cluster handler (save_handler=rediscluster, prefix
// PHPREDIS_CLUSTER_SESSION:) implements no locking at all: on a cluster the
// lock excludes other Go processes (and PHP apps using the standalone
// handler against a cluster proxy), not rediscluster PHP requests, which
// write unlocked.
//
// # Errors and what they promise
//
//   - nil from Commit: Redis acknowledged the write (directly, or the
//     reconciliation proved it: CommitResult.Reconciled).
//   - ErrLockLost: the lock was not ours when the write would have run;
//     nothing was written. Safe to re-read and redo the change.
//   - ErrOutcomeUnknown: the reply was lost and the lock's state no longer
//     tells; the write may or may not be in Redis. Never also ErrLockLost.
//   - ErrLockTimeout / ErrLockHeld (*HolderError): the holder's token and the
//     lock's remaining TTL (negative: none, as for PHP CLI locks).
//
// Reconciliation assumes that Redis does not lose acknowledged writes (a
// restart without persistence loses the sessions anyway) and that nobody
// deletes a lock that holds someone else's token (PHP never does: its
// release compares tokens; an operator's forced unlock is the exception).
// A SET NX whose reply was lost is resolved by GET of the lock: ours → we
// hold it and go on; not ours → tried again (a few times) while the caller's
// context allows. Should such a SET still land later (its connection broke
// before Redis read it), a lock found holding our own token is adopted, and
// a token given up on is compare-and-deleted a second later.
//
// Replies by which Redis refuses a command it did not run because it cannot
// write right now (READONLY from a demoted master during a Sentinel
// failover, LOADING after a restart, MASTERDOWN, TRYAGAIN, CLUSTERDOWN) are
// re-sent with a growing pause for up to Config.ReconcileTimeout; a split
// write re-checks lock ownership before it is re-sent, since the new
// master may not have our lock.
//
// # NewStore
//
// A Store built with NewStore over a caller's client cannot install the
// invalidation hook nor know how many connections the client multiplexes:
// waits are woken by the lock's PTTL timer and a 5 ms poll, Get is a plain
// GET, and OnInvalidate never fires. Mutual exclusion, ownership checks and
// read-your-own-writes hold all the same.
//
// # Several waiters in one process
//
// The waiters of one lock key in one Store queue in FIFO order: a release
// wakes only the first, so a hand-over costs one SET NX (and one re-arming
// read) however many goroutines wait. The others keep their PTTL timer and
// safety poll.
package redisio
