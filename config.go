package phpsession

import (
	"log/slog"
	"time"

	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/redisio"
)

// Defaults of Config, matching the original Python library and phpredis.
const (
	DefaultPrefix      = redisio.DefaultPrefix      // "PHPREDIS_SESSION:"
	DefaultLockSuffix  = redisio.DefaultLockSuffix  // "_LOCK"
	DefaultTTL         = redisio.DefaultTTL         // 86400 s
	DefaultLockTimeout = redisio.DefaultLockTimeout // 30 s
	DefaultLockExpiry  = redisio.DefaultLockExpiry  // 30 s
	// DefaultPHPLockWaitTime and DefaultPHPLockRetries are phpredis 5.3's
	// redis.session.lock_wait_time (2000 µs) and lock_retries (10).
	DefaultPHPLockWaitTime = 2 * time.Millisecond
	DefaultPHPLockRetries  = 10
	DefaultMaxBatch        = 512
	DefaultLinger          = 100 * time.Microsecond
	DefaultIdleTimeout     = 30 * time.Second
	DefaultMaxActors       = 100_000
	DefaultCacheEntries    = 10_000
	DefaultCacheBytes      = 64 << 20
	DefaultLockLostRetries = 3
	// DefaultWriteLeaseExpiry and DefaultWriteLeaseTerm: see
	// Config.WriteLeaseExpiry and Config.WriteLeaseTerm.
	DefaultWriteLeaseExpiry = 40 * time.Millisecond
	DefaultWriteLeaseTerm   = 16 * time.Millisecond
	// DefaultCompressionLevel is phpredis's redis.session.compression_level
	// default (3).
	DefaultCompressionLevel = codec.DefaultCompressionLevel
	// DefaultReadRefreshDivisor: by default reads refresh a session's TTL
	// at most once per TTL/16 (90 s of PHP's default 1440 s).
	DefaultReadRefreshDivisor = 16
	// DefaultMaxHold caps a locked batch's hold when Config.MaxHold is 0;
	// the fairness window for PHP may make it shorter (see actorSettings).
	DefaultMaxHold = 4 * time.Millisecond
	// DefaultRedisTimeout bounds each round trip to Redis (Config.RedisTimeout).
	DefaultRedisTimeout = redisio.DefaultTimeout // 3 s
	// DefaultClientCacheBytes is the size of rueidis's client-side cache per
	// connection (Config.ClientCacheBytes): 16,777,216 bytes.
	DefaultClientCacheBytes = redisio.DefaultClientCacheBytes
	// DefaultClientCacheKeys bounds the record of keys the client-side cache
	// may hold (Config.ClientCacheKeys): 65,536 keys, about 14 MB.
	DefaultClientCacheKeys = redisio.DefaultMaxCachedKeys
)

// Config configures a Manager. The zero value is usable: every zero field
// takes the default noted on it.
type Config struct {
	// Prefix of session keys (phpredis save_path prefix). Default
	// "PHPREDIS_SESSION:". Use NoPrefix for an empty prefix.
	Prefix string
	// NoPrefix makes session keys the bare ID (phpredis `prefix=`).
	NoPrefix bool
	// LockSuffix names the lock key: <prefix><id><suffix>. Default "_LOCK".
	LockSuffix string
	// TTL of session data, written with SETEX/EXPIRE (PHP's
	// session.gc_maxlifetime). Default 86400 s (the Python library's).
	TTL time.Duration
	// ReadRefresh: reads of an existing session refresh its TTL (EXPIRE),
	// as PHP's read-only requests do (session.lazy_write=1 calls
	// update_timestamp: phpredis sends EXPIRE key gc_maxlifetime), so that
	// a user active only through Go is not logged out after TTL. To keep
	// reads free (served from memory), a session is refreshed at most
	// once per ReadRefresh, by one EXPIRE sent from its actor after the
	// reads; a write refreshes it too. A session Go only reads therefore
	// expires between TTL-ReadRefresh and TTL after its last read.
	// Default TTL/DefaultReadRefreshDivisor; negative: reads never
	// refresh (phpsess does this: inspection is not activity).
	ReadRefresh time.Duration
	// LockTimeout bounds the wait for a session lock held by someone else.
	// Default 30 s.
	LockTimeout time.Duration
	// LockExpiry is the PX of the locks Go takes. Default 30 s; batches
	// that hold the lock long renew it. (PHP's own lock TTL is
	// redis.session.lock_expire; its default 0 means max_execution_time
	// in phpredis 5.3 and 6.x alike, which is 0 — a lock without TTL —
	// under the PHP CLI: set lock_expire on the PHP side.)
	LockExpiry time.Duration
	// Serializer is PHP's session.serialize_handler: codec.PHP (default),
	// codec.PHPSerialize, codec.PHPBinary, codec.Igbinary (extension
	// igbinary) or codec.Msgpack (extension msgpack).
	Serializer codec.Handler
	// Compression is phpredis 6's redis.session.compression:
	// codec.NoCompression (default), codec.LZF, codec.Zstd or codec.LZ4.
	// Sessions are written in Serializer + Compression. Sessions stored in
	// another format (a PHP fleet changing either setting) are read all
	// the same, recognised by their headers, and written back in this
	// format when they are next written; see codec.Format.
	Compression codec.Compression
	// CompressionLevel is redis.session.compression_level. 0 means
	// DefaultCompressionLevel (3, phpredis's default: zstd level 3, LZ4HC
	// level 3); a negative value is phpredis's "0 or below" (zstd level 3,
	// lz4's fast compressor); above the maximum, zstd uses 22 and lz4 its
	// fast compressor, as phpredis does.
	CompressionLevel int
	// MaxSessionSize caps the decompressed size of a compressed session
	// (0: codec.DefaultMaxSessionSize, 64 MiB; negative: phpredis's own
	// 2 GiB limit). A frame declaring more is refused with an error
	// matching ErrCodec before anything that size is allocated. It must
	// exceed the largest session the applications write. A compressed
	// write of this Manager over it is refused the same way
	// (codec.ErrSessionTooLarge, nothing stored): it could not read the
	// session back.
	MaxSessionSize int
	// JSONFields names the variables whose PHP string values hold JSON:
	// Get decodes them, Set encodes Go values to JSON. nil means the
	// original library's defaults (scart_items, ga_data, session_view_log,
	// MPIReceive and the prefix trace_list_); &codec.JSONFields{} means none.
	JSONFields *codec.JSONFields
	// MaxDepth caps the nesting when decoding (0 = 4096, like PHP).
	MaxDepth int

	// IDLength and IDBitsPerChar are PHP's session.sid_length and
	// session.sid_bits_per_character: the form of the IDs RegenerateID
	// and Manager.Middleware generate (defaults 32 and 4, PHP's built-in
	// values; php.ini-production has 26 and 5). A non-zero IDBitsPerChar
	// also restricts the IDs Manager.Middleware accepts from cookies to
	// that alphabet (see ValidCookieID).
	IDLength      int
	IDBitsPerChar int

	// PHPLockWaitTime and PHPLockRetries are the phpredis settings of the
	// PHP applications sharing the sessions (redis.session.lock_wait_time,
	// redis.session.lock_retries). Under continuous load on one session,
	// Go leaves the lock free a little longer than PHPLockWaitTime in every
	// window of about PHPLockRetries×PHPLockWaitTime/2, so PHP requests
	// always get the lock; after seeing PHP on a session it pauses after
	// every batch, with twice that gap, for a second. See
	// docs/coordinator.md. Defaults: phpredis 5.3 (2 ms, 10). For phpredis
	// 6.x use 20 ms and 100. PHPLockRetries < 0 (PHP waits forever) turns
	// the pauses off.
	PHPLockWaitTime time.Duration
	PHPLockRetries  int
	// NoFairness turns the pauses for PHP off (Go-only deployments).
	NoFairness bool
	// NoLockFree makes every batch take the session lock. By default a
	// batch on a session whose bytes the memo knows (standalone or
	// Sentinel Redis, or a Cluster where both keys share a slot) commits
	// without the lock: one Lua script writes only while nobody holds the
	// lock and the data is still what the batch started from, else the
	// batch waits for the lock to be free or re-runs on the new data. To
	// PHP that is a lock held for an instant: PHP never waits for it, and
	// it never writes while PHP holds the lock. See docs/coordinator.md.
	NoLockFree bool
	// WriteLeaseExpiry and WriteLeaseTerm tune how processes of this
	// package share a session they all write (replicas behind a load
	// balancer on one hot session): once a lock-free commit was refused
	// because the data changed while another process of this package
	// writes the session too, a process writes that session only while it
	// holds a short advisory lease (phpsession:lease:<data key>, PX
	// WriteLeaseExpiry, default 40 ms); the others queue their operations
	// meanwhile, and the one it is handed to is woken when it is given
	// up. A single process beside PHP never takes it. A holder gives it
	// up after WriteLeaseTerm (default 16 ms)
	// when another process waits, or when it has nothing to write for
	// that long. PHP does not see the lease: the lock-free check-and-write
	// is unchanged, so PHP's requests and writers that do not lock are
	// treated as before. A holder that stops or crashes delays the others
	// by at most WriteLeaseExpiry. NoWriteLease turns it off.
	WriteLeaseExpiry time.Duration
	WriteLeaseTerm   time.Duration
	NoWriteLease     bool
	// WriteMarkers makes lock-free batches settle a reply lost to a broken
	// connection exactly, also while other processes write the session:
	// each write also stores its own short-lived marker key
	// (phpsession:lf:<data key>:<token>, living 4×RedisTimeout, 12 s by
	// default; about 100 bytes plus the name in Redis per lock-free write
	// of that span), one more command per batch and about a third more
	// Redis CPU per write. Without it (default) such a batch
	// is retried when the data shows it was not applied, and otherwise its
	// calls get an error wrapping redisio.ErrOutcomeUnknown (never a silent
	// loss, never a double write). Locked batches settle by lock token
	// either way.
	WriteMarkers bool

	// MaxBatch caps the operations applied under one lock (default 512).
	MaxBatch int
	// Linger is how long the actor of a hot session waits for callers
	// answered by its last batch to join the next one (default 100 µs;
	// negative: off). Larger batches mean fewer Redis commands per update.
	Linger time.Duration
	// MaxHold caps how long one batch applies operations while holding
	// the lock (default: derived from the PHP settings, ≤ 4 ms).
	MaxHold time.Duration
	// LockLostRetries is how often a batch re-runs after its lock was lost
	// before failing with ErrLockLost (default 3; negative: never).
	LockLostRetries int
	// IdleTimeout passivates a session's actor after this long without
	// operations (default 30 s).
	IdleTimeout time.Duration
	// MaxActors caps the live session actors (default 100,000); beyond it
	// new sessions wait for idle actors to passivate.
	MaxActors int
	// CacheEntries and CacheBytes bound the decoded-session memo (defaults
	// 10,000 sessions and 67,108,864 bytes, 64 MiB). NoMemo turns it off.
	CacheEntries int
	CacheBytes   int64
	NoMemo       bool
	// NoFastReads sends every read through the session's actor even when
	// the memo holds a fresh copy (the fast path serves such reads in the
	// caller's goroutine; both see every write acknowledged before).
	NoFastReads bool

	// RedisTimeout bounds every round trip to Redis, whatever the caller's
	// context allows (default 3 s). While Redis is unreachable (down,
	// stopped, paused, network gone) a call fails within a few
	// RedisTimeouts with an error wrapping ErrUnavailable, and calls work
	// again as soon as Redis answers, without a new Manager. It also
	// bounds the commands that settle a write whose reply was lost.
	RedisTimeout time.Duration
	// ClientCacheBytes is the size of rueidis's client-side cache of raw
	// session bytes, per Redis connection (one per server; one per node
	// in a Cluster). Default 16,777,216 bytes (16 MiB); rueidis's own
	// default would be 128 MiB. Ignored with DisableClientCache, and by
	// Open when the rueidis option sets CacheSizeEachConn itself.
	ClientCacheBytes int
	// ClientCacheKeys bounds the record of the session keys that the
	// client-side cache may hold (used to skip a read-your-own-writes
	// barrier for the others): default 65,536 keys, about 150 bytes each
	// plus the key. Beyond it the oldest are dropped and writes carry the
	// barrier (one more command in the same round trip) for a while.
	ClientCacheKeys int

	// DisableClientCache opens the Redis connection without client-side
	// caching (for servers without CLIENT TRACKING, e.g. miniredis, or
	// proxies). Reads then cost a round trip, and lock waits poll.
	DisableClientCache bool

	// Logger receives warnings (nil = silent).
	Logger *slog.Logger
	// Events receives every event the Manager reports (operations with
	// their outcome and duration, batches, lock waits, lock-free
	// conflicts, cache hits and misses, fairness pauses, actor starts and
	// stops, Redis errors); see package event. Metrics exporters implement
	// event.Sink (combine several with event.Multi). nil = none.
	// Manager.Stats works regardless; Stats, Metrics and Events are fed
	// by the same events.
	Events event.Sink
	// Metrics receives the same events as plain callbacks (nil = none).
	Metrics *Metrics
}

// Metrics receives the Manager's events as callbacks: the same events
// Config.Events and Manager.Stats see, by kind. Every field is optional;
// functions are called from internal goroutines and must be fast and
// non-blocking.
type Metrics struct {
	// Op: an operation ("read", "update", "destroy") returned, with its
	// error (nil on success; one wrapping ErrNotFound for a read of a
	// missing session or variable). Every Manager call counts once,
	// including reads served from memory.
	Op func(kind string, err error)
	// Batch: a batch of ops operations committed after holding the lock
	// for hold (0 for a lock-free batch); mode is "data", "touch",
	// "delete" or "none".
	Batch func(ops int, hold time.Duration, mode string)
	// LockWait: a batch waited for a lock held by PHP or another process.
	LockWait func(wait time.Duration)
	// Cache: an unlocked read was served from memory (hit) or not.
	Cache func(hit bool)
	// LockLostRetry: a batch re-ran after its lock was lost.
	LockLostRetry func()
	// Passivated: an idle session actor stopped.
	Passivated func()
	// Gap: the actor paused for d to leave PHP a free lock window.
	Gap func(d time.Duration)
	// Conflict: a lock-free commit was refused because the lock was held
	// (held) or the data had changed; the batch waits or re-runs.
	Conflict func(held bool)
}

// withDefaults returns c with each unset setting at its default.
func (c Config) withDefaults() Config {
	// The settings redisio shares take its defaults, applied by redisio.
	r := c.redisConfig().WithDefaults()
	c.Prefix, c.LockSuffix, c.TTL, c.LockExpiry, c.LockTimeout = r.Prefix, r.LockSuffix, r.TTL, r.LockExpiry, r.LockTimeout
	c.RedisTimeout, c.ClientCacheBytes, c.ClientCacheKeys = r.Timeout, r.ClientCacheBytes, r.MaxCachedKeys
	if c.ReadRefresh == 0 {
		c.ReadRefresh = c.TTL / DefaultReadRefreshDivisor
	}
	if c.IDLength <= 0 {
		c.IDLength = DefaultIDLength
	}
	if c.Serializer == "" {
		c.Serializer = codec.PHP
	}
	// phpredis reads the setting case-insensitively ("ZSTD"); an unknown
	// name is kept for Open to refuse.
	if cc, err := codec.ParseCompression(string(c.Compression)); err == nil {
		c.Compression = cc
	}
	if c.CompressionLevel == 0 {
		c.CompressionLevel = DefaultCompressionLevel
	}
	if c.JSONFields == nil {
		jf := codec.DefaultJSONFields()
		c.JSONFields = &jf
	}
	if c.PHPLockWaitTime <= 0 {
		c.PHPLockWaitTime = DefaultPHPLockWaitTime
	}
	if c.PHPLockRetries == 0 {
		c.PHPLockRetries = DefaultPHPLockRetries
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.WriteLeaseExpiry <= 0 {
		c.WriteLeaseExpiry = DefaultWriteLeaseExpiry
	}
	if c.WriteLeaseTerm <= 0 {
		c.WriteLeaseTerm = DefaultWriteLeaseTerm
	}
	if c.LockLostRetries == 0 {
		c.LockLostRetries = DefaultLockLostRetries
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxActors <= 0 {
		c.MaxActors = DefaultMaxActors
	}
	if c.CacheEntries <= 0 {
		c.CacheEntries = DefaultCacheEntries
	}
	if c.CacheBytes <= 0 {
		c.CacheBytes = DefaultCacheBytes
	}
	return c
}

// actorSettings resolves the settings of the session actors from c (with
// defaults filled in): the actor package has no defaults of its own.
func (c Config) actorSettings() actor.Settings {
	var gap, window, cgap time.Duration
	if !c.NoFairness {
		gap, window, cgap = actor.FairnessFromPHP(c.PHPLockWaitTime, c.PHPLockRetries)
	}
	maxHold := c.MaxHold
	if maxHold <= 0 {
		// a batch holds the lock at most half of what the fairness window
		// leaves between two gaps
		maxHold = DefaultMaxHold
		if window > 0 && (window-gap)/2 < maxHold {
			maxHold = (window - gap) / 2
		}
	}
	leaseExpiry := c.WriteLeaseExpiry
	if c.NoWriteLease || c.NoLockFree {
		leaseExpiry = 0
	}
	return actor.Settings{
		LeaseExpiry:     leaseExpiry,
		LeaseTerm:       c.WriteLeaseTerm,
		MaxBatch:        c.MaxBatch,
		MaxHold:         maxHold,
		RenewAfter:      c.LockExpiry / 3, // renewed twice before it can expire
		LockTimeout:     c.LockTimeout,
		LockLostRetries: max(c.LockLostRetries, 0),
		IdleTimeout:     c.IdleTimeout,
		Gap:             gap,
		Window:          window,
		ContendedGap:    cgap,
		Linger:          max(c.Linger, 0),
		NoLockFree:      c.NoLockFree,
		ReadRefresh:     max(c.ReadRefresh, 0),
	}
}

// redisConfig is the redisio configuration resolved from c (with defaults
// filled in); what c does not set keeps redisio's defaults.
func (c Config) redisConfig() redisio.Config {
	return redisio.Config{
		Prefix:           c.Prefix,
		NoPrefix:         c.NoPrefix,
		LockSuffix:       c.LockSuffix,
		TTL:              c.TTL,
		LockExpiry:       c.LockExpiry,
		LockTimeout:      c.LockTimeout,
		WriteMarkers:     c.WriteMarkers,
		Timeout:          c.RedisTimeout,
		ClientCacheBytes: c.ClientCacheBytes,
		MaxCachedKeys:    c.ClientCacheKeys,
		Logger:           c.Logger,
	}
}

// Format returns the session format the Config writes: Serializer,
// Compression and CompressionLevel with their defaults applied (a
// negative CompressionLevel is phpredis's level 0).
func (c Config) Format() codec.Format {
	c = c.withDefaults()
	return codec.Format{Handler: c.Serializer, Compression: c.Compression, Level: max(c.CompressionLevel, 0)}
}

// codecOptions bounds decoding as the Config says (nil: codec's defaults).
func (c Config) codecOptions() *codec.Options {
	if c.MaxDepth == 0 && c.MaxSessionSize == 0 {
		return nil
	}
	return &codec.Options{MaxDepth: c.MaxDepth, MaxSessionSize: c.MaxSessionSize}
}
