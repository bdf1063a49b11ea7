package redisio

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	neturl "net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/rueidis"

	"github.com/phpsession/phpsession/internal/redact"
)

// Default configuration values. They match phpredis's defaults where phpredis
// has one.
const (
	DefaultPrefix        = "PHPREDIS_SESSION:"
	DefaultClusterPrefix = "PHPREDIS_CLUSTER_SESSION:"
	DefaultLockSuffix    = "_LOCK"
	DefaultTTL           = 86400 * time.Second
	DefaultLockExpiry    = 30 * time.Second
	DefaultLockTimeout   = 30 * time.Second
	DefaultCacheTTL      = time.Minute
	// DefaultPollInterval is the safety poll while waiting for a foreign lock
	// when invalidation wake-ups are available (Open, OpenURL).
	DefaultPollInterval = 250 * time.Millisecond
	// DefaultPollIntervalNoTracking is the poll used by NewStore, where the
	// Store cannot receive invalidations and polling is the main wake-up.
	DefaultPollIntervalNoTracking = 5 * time.Millisecond
	// DefaultTimeout bounds each round trip to Redis (Config.Timeout).
	DefaultTimeout = 3 * time.Second
	// DefaultReconcileTimeout bounds the extra commands sent after a network
	// error or timeout to find out what Redis did.
	DefaultReconcileTimeout = DefaultTimeout
	// DefaultClientCacheBytes is the size of rueidis's client-side cache
	// per connection that Open sets when the option leaves it zero:
	// 16,777,216 bytes (16 MiB). Open keeps one connection per Redis
	// server (one per node in a Cluster).
	DefaultClientCacheBytes = 16 << 20
	// DefaultMaxCachedKeys bounds the Store's record of data keys that
	// the client-side cache may hold (Config.MaxCachedKeys): 65,536 keys,
	// about 150 bytes each plus the key, so ≈ 14 MB with 64-byte keys.
	DefaultMaxCachedKeys = 1 << 16
)

// Sentinel errors. Errors returned by the Store wrap one of these (and,
// where it applies, the underlying rueidis or context error) so errors.Is
// works.
var (
	// ErrLockTimeout: the lock could not be acquired before Config.LockTimeout
	// or the caller's context deadline. The message names the holder's token.
	ErrLockTimeout = errors.New("redisio: timed out waiting for session lock")
	// ErrLockHeld: TryLockAndRead found the lock held by someone else.
	ErrLockHeld = errors.New("redisio: session lock held by another holder")
	// ErrLockLost: the lock is no longer ours (it expired or was taken);
	// nothing was written.
	ErrLockLost = errors.New("redisio: session lock lost")
	// ErrOutcomeUnknown: a write was sent but its reply was lost and the
	// outcome could not be established afterwards. The write may or may not
	// have been applied.
	ErrOutcomeUnknown = errors.New("redisio: outcome of write unknown")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("redisio: store closed")
	// ErrUnavailable: Redis could not be reached or did not answer within
	// Config.Timeout (connection refused or broken, server paused or
	// stopped). The cause is wrapped. A command that changes data and
	// fails this way may or may not have run; the write methods settle
	// that themselves (or report ErrOutcomeUnknown).
	ErrUnavailable = errors.New("redisio: redis unavailable")
)

// Config configures a Store. The zero value gives phpredis's defaults.
type Config struct {
	// Prefix of session keys. Default "PHPREDIS_SESSION:" (the cluster
	// handler of phpredis uses "PHPREDIS_CLUSTER_SESSION:", set it
	// explicitly when sharing sessions with it). Set NoPrefix for "".
	Prefix string
	// NoPrefix makes an empty Prefix mean "no prefix" (phpredis
	// `prefix=`), instead of the default.
	NoPrefix bool
	// LockSuffix appended to the session key to name the lock. Default "_LOCK".
	LockSuffix string
	// TTL of session data (session.gc_maxlifetime), written with SETEX and
	// EXPIRE in whole seconds (rounded up). Default 86400 s.
	TTL time.Duration
	// LockExpiry is the PX of our lock. Default 30 s. Rounded up to a
	// whole millisecond.
	LockExpiry time.Duration
	// LockTimeout bounds how long LockAndRead waits for a lock held by
	// someone else (in addition to the caller's context). Default 30 s.
	LockTimeout time.Duration
	// PollInterval is the safety poll while waiting for a foreign lock.
	// Default 250 ms with Open/OpenURL (wake-ups come from invalidations and
	// the lock's PTTL), 5 ms with NewStore (no invalidations).
	PollInterval time.Duration
	// CacheTTL is the client-side cache lifetime for Get (a safety net:
	// freshness comes from invalidations). Default 1 min.
	CacheTTL time.Duration
	// Timeout bounds every round trip to Redis, whatever the caller's
	// context allows: a command without a reply by then fails with an
	// error wrapping ErrUnavailable (rueidis's own retries of reads after
	// a broken connection stop there too). While Redis is unreachable
	// every call thus fails within a few Timeouts, and works again as
	// soon as Redis answers (rueidis reconnects by itself). Default 3 s.
	Timeout time.Duration
	// ReconcileTimeout bounds the commands sent after a network error or
	// timeout to find out whether a command took effect. Default: Timeout.
	ReconcileTimeout time.Duration
	// MaxCachedKeys bounds the Store's record of the data keys that
	// rueidis's client-side cache may hold (a read-your-own-writes
	// barrier is sent only for those). Keys leave it on their
	// invalidation or CacheTTL after their last cached read; beyond the
	// bound the oldest are dropped and, until their cached copies have
	// expired, every write is sent with the barrier. Default 65,536.
	MaxCachedKeys int
	// WriteMarkers makes WriteIfUnlocked also store a short-lived marker
	// key of each write (MarkerKey, living 2×(Timeout+ReconcileTimeout),
	// 12 s by default), so that a reply lost to a broken connection is
	// settled exactly, even while other processes write the session. It
	// costs one more command inside the script, one small key (about 100
	// bytes plus the key name) per lock-free write of the last 12 s in
	// Redis and, measured, about a third more Redis CPU per lock-free
	// write. Without it, such a write is settled only when the data shows
	// it was not applied; otherwise the error wraps ErrOutcomeUnknown.
	WriteMarkers bool
	// ClientCacheBytes is the size of rueidis's client-side cache per
	// connection that Open sets when the ClientOption leaves
	// CacheSizeEachConn zero (rueidis's own default is 128 MiB). Default
	// DefaultClientCacheBytes (16,777,216 bytes).
	ClientCacheBytes int
	// SplitKeys forces the cluster command sequences (lock and data key
	// never in one command or script, read after lock reply, release after
	// write ack) even on a single server. Useful behind proxies that route
	// per key, and in tests.
	SplitKeys bool
	// TokenPrefix starts every lock token (default "<hostname>|<pid>|").
	// A random part is always appended, so tokens are unique per holder.
	TokenPrefix string
	// Logger receives warnings about reconciliation and leftover locks.
	// nil = silent.
	Logger *slog.Logger
}

// WithDefaults returns c with each unset setting at its default, as a
// Store resolves it. Three are left as they are, for the Store to resolve:
// PollInterval (its default depends on whether the Store has client
// tracking), TokenPrefix and Logger. The phpsession package resolves the
// settings it shares with redisio through it, so that each default is
// applied in one place.
func (c Config) WithDefaults() Config {
	if c.Prefix == "" && !c.NoPrefix {
		c.Prefix = DefaultPrefix
	}
	if c.LockSuffix == "" {
		c.LockSuffix = DefaultLockSuffix
	}
	if c.TTL <= 0 {
		c.TTL = DefaultTTL
	}
	if c.LockExpiry <= 0 {
		c.LockExpiry = DefaultLockExpiry
	}
	if c.LockTimeout <= 0 {
		c.LockTimeout = DefaultLockTimeout
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = DefaultCacheTTL
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ReconcileTimeout <= 0 {
		c.ReconcileTimeout = c.Timeout
	}
	if c.ClientCacheBytes <= 0 {
		c.ClientCacheBytes = DefaultClientCacheBytes
	}
	if c.MaxCachedKeys <= 0 {
		c.MaxCachedKeys = DefaultMaxCachedKeys
	}
	return c
}

func (c *Config) fill(tracking bool) {
	*c = c.WithDefaults()
	if c.PollInterval <= 0 {
		if tracking {
			c.PollInterval = DefaultPollInterval
		} else {
			c.PollInterval = DefaultPollIntervalNoTracking
		}
	}
	// Braces would give a marker key (which ends in the token) another
	// Cluster hash tag than its data key.
	c.TokenPrefix = strings.NewReplacer("{", "", "}", "").Replace(c.TokenPrefix)
	if c.TokenPrefix == "" {
		h, _ := os.Hostname()
		if len(h) > 64 {
			h = h[:64]
		}
		c.TokenPrefix = h + "|" + strconv.Itoa(os.Getpid()) + "|"
	}
	if c.Logger == nil {
		c.Logger = slog.New(discardHandler{})
	}
}

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }

// Store speaks phpredis's session protocol (keys, lock, data) on a rueidis
// client. It is safe for concurrent use.
type Store struct {
	c        rueidis.Client
	cfg      Config
	owned    bool // we built the client (Close closes it)
	tracking bool // invalidations reach us and the single-connection guarantee holds
	split    bool // lock and data key may live on different servers
	// splitKnown is split, for the dial hook (which also runs while the
	// client is being built, before split is set).
	splitKnown atomic.Bool
	// notCluster: the client is not a cluster client, so no reply is
	// MOVED and the connections stop scanning replies for it (movedConn).
	notCluster atomic.Bool

	// Sentinel (see switching): the master connections open now, by
	// address, and how the dial hook tells a Sentinel's connection from a
	// master's. Set before the client is built.
	sentinel      bool
	connMu        sync.Mutex
	masterConns   map[string]int
	sentinelRes   *net.Resolver // marks the Sentinels' dialer (nil: see sentinelAddrs)
	sentinelAddrs []string      // the Sentinels, when the option brought its own Resolver

	ttlSec   int64
	expiryMs int64
	markerMs int64 // lifetime of WriteIfUnlocked's write markers: 2×(Timeout+ReconcileTimeout)
	// the same, as script arguments (formatted once)
	ttlArg, expiryArg, markerArg string

	mu      sync.Mutex
	waiters map[string][]*waiter // lock key → waiters, FIFO
	subs    atomic.Pointer[[]*sub]
	subMu   sync.Mutex

	closed atomic.Bool
	done   chan struct{} // closed by Close (stops failoverWatch)
	// stopCtx is cancelled by Close: it bounds the failover watch's
	// CLUSTER NODES calls, which watchWG counts (with the watch itself)
	// so that Close returns only once they have ended.
	stopCtx context.Context
	stop    context.CancelFunc
	watchWG sync.WaitGroup

	// Cluster (failover.go): the open connections by dialled address, and
	// the nil invalidations processed (each connection's end reports one),
	// signalled on nilCh, which is replaced at each.
	conns  connSet
	nilInv atomic.Uint64
	nilMu  sync.Mutex
	nilCh  chan struct{}
	// watchRefused: the failover watch was refused CLUSTER NODES (logged once)
	watchRefused sync.Once

	// tokenRand is the random part of this Store's lock tokens (drawn once;
	// the process-wide counter makes each token unique).
	tokenRand string

	// armed: data keys this connection may have in rueidis's client-side
	// cache or Redis track for us (see armBegin); Commit skips its read-your-own-writes barrier
	// for keys not in it.
	armMu       sync.Mutex
	armed       map[string]*armState
	armSweepAt  int       // size of armed at which sweepArmed runs
	armAllUntil time.Time // after an overflow: every key may be cached until then

	// watches: data key → the Watches counting its invalidations
	// (watch.go); nWatch is their number, so that the invalidation hook
	// skips the map when nobody watches.
	watchMu sync.Mutex
	watches map[string][]*Watch
	nWatch  atomic.Int32

	st stats

	// shared and boundSlack: see bound.
	shared     atomic.Pointer[sharedBound]
	boundSlack time.Duration

	// waitHook, when set (tests), is called each time LockAndRead is about
	// to block waiting for a foreign lock.
	waitHook func(id, holder string)
}

// DefaultMaxFlushDelay is the rueidis MaxFlushDelay Open uses when the
// option leaves it zero. All sessions share one pipelined connection per
// server; with many sessions busy at once a short wait before each socket
// write lets the concurrent batches' commands go out in one write instead
// of one write syscall each (and Redis reads them in one read). rueidis
// applies it only while several callers are waiting, so a lone caller's
// latency is unchanged. Measured with 64 writers over 10,000 sessions on 2
// cores: 20 µs left ~0.7 write syscalls per operation; 80–150 µs cut that
// to ~0.1 and client CPU per operation by a quarter.
const DefaultMaxFlushDelay = 100 * time.Microsecond

// DefaultShardsRefreshInterval is the rueidis
// ClusterOption.ShardsRefreshInterval NewClient (and so Open) uses when
// the option leaves it zero: how often a Cluster client reads the slot map even when no reply
// told it the map changed. After a failover, a process whose reads of a
// moved slot are all answered from the old master's connection cache sends
// nothing there and so gets no MOVED (movedConn); its reads follow the new
// master once its slot map is refreshed (rueidis adds a random delay of up
// to a second), or once the old master has replicated the new master's
// writes and sent their invalidations, whichever comes first. Open's
// failover watch (failover.go) runs at the same interval: it drops what
// was cached through a master that was replaced, so that copies in memory
// (the client-side cache and the Manager's memo) do not outlive it either.
const DefaultShardsRefreshInterval = time.Second

// DefaultTopologyRefreshInterval is the rueidis
// SentinelOption.TopologyRefreshInterval NewClient (and so Open) uses when
// the option leaves it zero: how often a Sentinel client asks a Sentinel which server is the
// master (and checks with ROLE that it is one), besides following the
// +switch-master messages the Sentinel publishes. A client that missed
// that message (its Sentinel connection broken at the wrong moment, a
// Sentinel that did not take part, a message lost in a partition) has a
// working connection to the old master, which a demotion does not close:
// without the periodic check it keeps sending every command there (writes
// refused with READONLY, reads without the lock answered with the old
// master's data) until its connection to the Sentinel breaks
// (TestSentinelMissedSwitch).
// The cost is a few commands a second per process, on the Sentinel's
// connection and the master's.
const DefaultTopologyRefreshInterval = time.Second

type waiter struct{ ch chan struct{} }

type sub struct{ fn func(ids []string) }

// Open builds a rueidis client from opt and returns a Store that owns it.
// It sets PipelineMultiplex to -1 (one pipelined connection per Redis
// server, so a lock reply and the invalidations of the keys it protects
// arrive in order on one connection), keeps default OPTIN tracking and
// installs an OnInvalidations hook (chaining any hook already in opt).
// Options that break the ordering guarantee are rejected. A zero
// MaxFlushDelay becomes DefaultMaxFlushDelay (set it negative for none), a
// zero CacheSizeEachConn becomes Config.ClientCacheBytes, a zero
// the refresh intervals get NewClient's defaults.
func Open(opt rueidis.ClientOption, cfg Config) (*Store, error) {
	if len(opt.ClientTrackingOptions) > 0 {
		return nil, errors.New("redisio: ClientTrackingOptions must be empty (default OPTIN tracking is required for fresh cached reads)")
	}
	if opt.DisableCache || opt.DisableAutoPipelining || opt.AlwaysRESP2 {
		return nil, errors.New("redisio: DisableCache, DisableAutoPipelining and AlwaysRESP2 are not supported by Open (client tracking needs RESP3 on the pipelined connection); use NewStore for reduced guarantees")
	}
	if opt.SendToReplicas != nil || opt.ReplicaOnly {
		return nil, errors.New("redisio: replica reads are not supported (replication lag breaks lock-protected reads)")
	}
	opt.PipelineMultiplex = -1
	if opt.MaxFlushDelay == 0 {
		opt.MaxFlushDelay = DefaultMaxFlushDelay
	}
	if opt.CacheSizeEachConn == 0 {
		opt.CacheSizeEachConn = cfg.WithDefaults().ClientCacheBytes
	}
	s := &Store{owned: true, tracking: true}
	// Everything the invalidation hook reads is set before the client
	// starts its connections.
	s.initConfig(cfg)
	// Every new connection starts with nothing tracked: whatever was
	// cached or tracked on the old one is dropped before the new one
	// carries a command (rueidis reports the old connection's end with a
	// nil invalidation too, but possibly after the new one answered). So a
	// memo entry that is fresh was read on the connection in use, except
	// during a Sentinel switch, where the old master's connection stays in
	// use from the new one's dial until rueidis swaps them: see switching.
	if opt.Sentinel.MasterSet != "" {
		s.sentinel = true
		s.masterConns = map[string]int{}
		if opt.Sentinel.Dialer.Resolver == nil {
			// A zero Resolver is the default one; its identity tells the
			// dial hook that a connection is to a Sentinel.
			s.sentinelRes = &net.Resolver{}
			opt.Sentinel.Dialer.Resolver = s.sentinelRes
		} else {
			s.sentinelAddrs = slices.Clone(opt.InitAddress)
		}
	}
	dial := opt.DialCtxFn
	if dial == nil && opt.DialFn != nil {
		old := opt.DialFn
		dial = func(_ context.Context, dst string, d *net.Dialer, tc *tls.Config) (net.Conn, error) {
			return old(dst, d, tc)
		}
	}
	if dial == nil {
		dial = func(ctx context.Context, dst string, d *net.Dialer, tc *tls.Config) (net.Conn, error) {
			if tc != nil {
				td := tls.Dialer{NetDialer: d, Config: tc}
				return td.DialContext(ctx, "tcp", dst)
			}
			return d.DialContext(ctx, "tcp", dst)
		}
	}
	opt.DialFn = nil
	noDelay := opt.DisableTCPNoDelay
	opt.DialCtxFn = func(ctx context.Context, dst string, d *net.Dialer, tc *tls.Config) (net.Conn, error) {
		// Not a full nil invalidation: on a Cluster the other nodes'
		// connections keep their client-side caches, and with them the
		// record of keys they may hold (mayHoldCached). Nor is the memo
		// dropped there (split): the tracked commit, which needs the
		// purge, is not used on split stores, and a new connection is
		// usually to another node (a redirect after a failover), which
		// makes no entry less fresh. The old node's cache is dropped by
		// its MOVED reply (movedConn).
		if s.nWatch.Load() > 0 {
			s.countWatches("")
		}
		if !s.splitKnown.Load() {
			s.notify(nil)
		}
		conn, err := dial(ctx, dst, d, tc)
		if err != nil {
			return nil, err
		}
		if noDelay {
			// rueidis applies DisableTCPNoDelay only to a connection it
			// can see is TCP or TLS, which the wrappers below hide.
			setNoDelayOff(conn)
		}
		// A MOVED reply empties the connection's client-side cache
		// before it is delivered (moved.go).
		mc := &movedConn{Conn: conn, off: &s.notCluster, set: &s.conns, addr: dst}
		s.conns.add(dst, mc)
		var nc net.Conn = mc
		if s.sentinel && !s.sentinelDial(dst, d) {
			nc = s.trackMasterConn(dst, nc)
		}
		return nc, nil
	}
	prev := opt.OnInvalidations
	opt.OnInvalidations = func(msgs []rueidis.RedisMessage) {
		s.handleInvalidations(msgs)
		if prev != nil {
			prev(msgs)
		}
	}
	c, err := NewClient(opt, s.cfg.Timeout)
	if err != nil {
		return nil, err
	}
	s.setClient(c)
	if c.Mode() == rueidis.ClientModeCluster {
		every := opt.ClusterOption.ShardsRefreshInterval
		if every <= 0 {
			every = DefaultShardsRefreshInterval
		}
		prev := s.readClusterView(min(s.cfg.Timeout, every))
		s.watchWG.Add(1)
		go func() {
			defer s.watchWG.Done()
			s.failoverWatch(prev, every)
		}()
	}
	return s, nil
}

// NewClient is rueidis.NewClient with the connection's handshake bounded
// by timeout (when opt.Dialer.Timeout is 0; Config.Timeout for Open) and
// its errors made plain: a server that cannot be reached, or that does not
// answer in the Redis protocol (an HTTP server, a listener that closes the
// connection or never answers), gives an error wrapping ErrUnavailable;
// for the second it says "ADDR did not answer as a Redis server". Errors
// Redis itself answered (a wrong password, a refused command) are returned
// wrapped as they are. A zero ClusterOption.ShardsRefreshInterval becomes
// DefaultShardsRefreshInterval and a zero Sentinel.TopologyRefreshInterval
// DefaultTopologyRefreshInterval, with or without the client-side cache:
// a client that missed a failover's news must still find the new master.
func NewClient(opt rueidis.ClientOption, timeout time.Duration) (rueidis.Client, error) {
	if opt.Dialer.Timeout == 0 {
		opt.Dialer.Timeout = timeout
	}
	if opt.ClusterOption.ShardsRefreshInterval == 0 {
		opt.ClusterOption.ShardsRefreshInterval = DefaultShardsRefreshInterval
	}
	if opt.Sentinel.TopologyRefreshInterval == 0 {
		opt.Sentinel.TopologyRefreshInterval = DefaultTopologyRefreshInterval
	}
	c, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, connectError(strings.Join(opt.InitAddress, ","), err)
	}
	return c, nil
}

// connectError classifies the error of a client that did not connect to
// addr.
func connectError(addr string, err error) error {
	var re *rueidis.RedisError
	var op *net.OpError
	switch {
	case errors.Is(err, rueidis.ErrNoCache):
		// Redis answered, refusing CLIENT TRACKING (an ACL user without
		// it, a server or proxy without client tracking): retrying will
		// not help, so not ErrUnavailable. rueidis' advice names its own
		// option; the caller's is Config.DisableClientCache.
		first, _, _ := strings.Cut(err.Error(), "\n")
		return &noTrackingError{msg: fmt.Sprintf("redisio: connect: %s refused client tracking (%s): grant the user CLIENT TRACKING and CLIENT CACHING, or turn the client-side cache off (DisableClientCache)", addr, first), err: err}
	case errors.As(err, &re):
		return fmt.Errorf("redisio: connect: %w", err) // Redis answered
	case errors.As(err, &op) && op.Op == "dial":
		// not wrapping a dial timeout: it must not pass for the
		// caller's context ending
		return fmt.Errorf("%w: connect to %s: %v", ErrUnavailable, addr, err)
	}
	detail := err.Error()
	const marker = "unknown message type: "
	if i := strings.Index(detail, marker); i >= 0 {
		if n, perr := strconv.Atoi(detail[i+len(marker):]); perr == nil && n >= 0x20 && n < 0x7f {
			detail = fmt.Sprintf("its reply began with %q", rune(n))
		}
	} else if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		detail = "no reply in time"
	} else if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		// a reset, rather than the end of the stream, when the server
		// closed before reading what the client sent
		detail = "it closed the connection"
	}
	return fmt.Errorf("%w: %s did not answer as a Redis server (%s)", ErrUnavailable, addr, detail)
}

// noTrackingError is the error of a server that refused client tracking:
// its own message, and rueidis.ErrNoCache (with Redis' reply) unwrapped.
type noTrackingError struct {
	msg string
	err error
}

func (e *noTrackingError) Error() string { return e.msg }
func (e *noTrackingError) Unwrap() error { return e.err }

// OpenURL parses url with ParseURL (redis://, rediss://, unix://,
// redis-sentinel://, rediss-sentinel://; ACL users, TLS files, Sentinel
// credentials) and calls Open. Whether the server is a cluster is detected
// by rueidis. A server that cannot be reached or does not answer as Redis
// gives an error wrapping ErrUnavailable (see NewClient) that shows the
// URL with its password masked, within Config.Timeout.
func OpenURL(url string, cfg Config) (*Store, error) {
	opt, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	s, err := Open(opt, cfg)
	if err != nil && errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w (URL %s)", err, redactURL(url))
	}
	return s, err
}

// redactURL returns u with its password masked, for messages.
func redactURL(u string) string {
	p, err := neturl.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}

// parseURLBase is rueidis.ParseURL plus the redis-sentinel:// and
// rediss-sentinel:// forms (host:port[,host:port...]/master-name), which it
// translates to a Sentinel configuration.
func parseURLBase(u string) (rueidis.ClientOption, error) {
	for _, scheme := range []string{"redis-sentinel://", "rediss-sentinel://"} {
		if !strings.HasPrefix(u, scheme) {
			continue
		}
		rest := u[len(scheme):]
		query := ""
		if i := strings.IndexByte(rest, '?'); i >= 0 {
			rest, query = rest[:i], rest[i+1:]
		}
		userinfo := ""
		if i := strings.LastIndexByte(rest, '@'); i >= 0 {
			userinfo, rest = rest[:i+1], rest[i+1:]
		}
		hosts, master := rest, ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			hosts, master = rest[:i], rest[i+1:]
		}
		hs := strings.Split(hosts, ",")
		if master == "" {
			master = "mymaster"
		}
		nu := "redis://"
		if scheme == "rediss-sentinel://" {
			nu = "rediss://"
		}
		nu += userinfo + hs[0] + "?master_set=" + master
		for _, h := range hs[1:] {
			nu += "&addr=" + h
		}
		if query != "" {
			nu += "&" + query
		}
		return rueidis.ParseURL(nu)
	}
	return rueidis.ParseURL(u)
}

// NewStore wraps a client the caller built. The Store cannot install its
// invalidation hook nor know how many connections the client multiplexes,
// so it gives reduced guarantees:
//
//   - waiting for a foreign lock uses the lock's PTTL timer and a poll
//     (Config.PollInterval, default 5 ms) instead of invalidation wake-ups;
//   - Get reads with plain GET (never from the client-side cache), which
//     keeps it fresh but costs a round trip;
//   - OnInvalidate callbacks are never called.
//
// Close does not close c.
func NewStore(c rueidis.Client, cfg Config) (*Store, error) {
	if c == nil {
		return nil, errors.New("redisio: nil client")
	}
	s := &Store{}
	s.initConfig(cfg)
	s.setClient(c)
	return s, nil
}

func (s *Store) initConfig(cfg Config) {
	cfg.fill(s.tracking)
	s.cfg = cfg
	s.ttlSec = int64((cfg.TTL + time.Second - 1) / time.Second)
	s.expiryMs = int64((cfg.LockExpiry + time.Millisecond - 1) / time.Millisecond)
	// A lost reply is reconciled at most Timeout (the round trip's bound)
	// plus ReconcileTimeout after the write was sent; the marker outlives
	// twice that, so its absence then proves the write was not applied.
	s.markerMs = max(int64(2*(cfg.Timeout+cfg.ReconcileTimeout)/time.Millisecond), 1000)
	s.ttlArg, s.expiryArg, s.markerArg = fmtInt(s.ttlSec), fmtInt(s.expiryMs), fmtInt(s.markerMs)
	s.boundSlack = min(cfg.Timeout/32, 50*time.Millisecond)
	s.waiters = map[string][]*waiter{}
	s.done = make(chan struct{})
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	s.armed = map[string]*armState{}
	s.armSweepAt = min(1024, cfg.MaxCachedKeys)
	var b [12]byte
	_, _ = rand.Read(b[:])
	s.tokenRand = base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Store) setClient(c rueidis.Client) {
	s.c = c
	s.split = s.cfg.SplitKeys || c.Mode() == rueidis.ClientModeCluster
	s.splitKnown.Store(s.split)
	s.notCluster.Store(c.Mode() != rueidis.ClientModeCluster)
}

// Close closes the client if the Store built it, and makes further calls
// fail with ErrClosed. Waiters are woken and return ErrClosed.
func (s *Store) Close() {
	if s.closed.Swap(true) {
		return
	}
	s.wakeAll()
	close(s.done)
	s.stop()
	s.watchWG.Wait()
	if s.owned {
		s.c.Close()
	}
}

// Client returns the underlying rueidis client.
func (s *Store) Client() rueidis.Client { return s.c }

// Config returns the effective configuration (defaults filled in).
func (s *Store) Config() Config { return s.cfg }

// Key returns the session data key of id: Prefix + id.
func (s *Store) Key(id string) string { return s.cfg.Prefix + id }

// logKey is k (a data or lock key) as logs show it: the session ID in it
// redacted.
func (s *Store) logKey(k string) string {
	id := strings.TrimPrefix(k, s.cfg.Prefix)
	suffix := ""
	if strings.HasSuffix(id, s.cfg.LockSuffix) {
		id, suffix = id[:len(id)-len(s.cfg.LockSuffix)], s.cfg.LockSuffix
	}
	return s.cfg.Prefix + redact.ID(id) + suffix
}

// LockKey returns the lock key of id: Prefix + id + LockSuffix.
func (s *Store) LockKey(id string) string { return s.cfg.Prefix + id + s.cfg.LockSuffix }

// Cluster reports whether the Store uses the split (cluster) command
// sequences: lock and data key in separate commands, read strictly after the
// lock reply, release strictly after the write's acknowledgement.
func (s *Store) Cluster() bool { return s.split }

// Tracking reports whether invalidation wake-ups and client-side cached
// reads are in use (true for Open/OpenURL, false for NewStore).
func (s *Store) Tracking() bool { return s.tracking }

// sameNode reports whether the two keys of id may be combined in one
// pipeline or script.
func (s *Store) sameNode(id string) bool {
	if !s.split {
		return true
	}
	if s.c.Mode() != rueidis.ClientModeCluster {
		return false // SplitKeys forced: never combine
	}
	k := s.c.B().Get().Key(s.Key(id)).Build()
	l := s.c.B().Get().Key(s.LockKey(id)).Build()
	return k.Slot() == l.Slot()
}

var tokenSeq atomic.Uint64

// newToken returns a lock token unique to this holder: the configured
// prefix, a process-wide counter and 12 random bytes drawn once per Store
// (the counter never repeats within the process, the random part tells
// processes apart; no getrandom call per acquisition).
func (s *Store) newToken() string {
	return s.cfg.TokenPrefix + "go" + strconv.FormatUint(tokenSeq.Add(1), 36) + ":" + s.tokenRand
}

// OnInvalidate registers fn to be called with the session ids whose data
// key was invalidated by Redis (changed or deleted by anyone, including this
// process), for keys this Store tracks (read through Get or LockAndRead).
// fn(nil) means "everything may have changed" (a flush, a reconnect, Close).
// fn runs synchronously on rueidis's connection reader: it must be fast and
// must not block or call the Store (hand work off to a goroutine or a
// non-blocking channel send). Invalidations caused by this Store's own Commit or
// Destroy are delivered before that call returns, so a caller may store
// the value it wrote after the call returns without an invalidation
// wiping it afterwards. Ids whose key ends in LockSuffix are not
// reported (PHP ids never contain '_'). The returned cancel removes fn.
func (s *Store) OnInvalidate(fn func(ids []string)) (cancel func()) {
	su := &sub{fn: fn}
	s.subMu.Lock()
	old := s.subs.Load()
	var n []*sub
	if old != nil {
		n = append(n, (*old)...)
	}
	n = append(n, su)
	s.subs.Store(&n)
	s.subMu.Unlock()
	return func() {
		s.subMu.Lock()
		defer s.subMu.Unlock()
		old := s.subs.Load()
		if old == nil {
			return
		}
		var n []*sub
		for _, x := range *old {
			if x != su {
				n = append(n, x)
			}
		}
		s.subs.Store(&n)
	}
}

// armState records the cached reads (DoCache) of one data key: how many
// are in flight and when the last one returned.
type armState struct {
	inflight int
	last     time.Time
}

// armBegin records, before a DoCache of data key k is sent, that rueidis's
// client-side cache may hold k (and Redis track it for us) from now on;
// armEnd is called when the DoCache returned. The record ends when an
// invalidation of k is processed while no DoCache of k is in flight (the
// local entry is gone then), or CacheTTL after the last DoCache of k
// returned (rueidis serves no entry past its client TTL): see
// mayHoldCached. The record holds at most Config.MaxCachedKeys keys.
func (s *Store) armBegin(k string) {
	s.armMu.Lock()
	st := s.armed[k]
	if st == nil {
		if len(s.armed) >= s.armSweepAt {
			s.sweepArmed(time.Now())
		}
		st = &armState{}
		s.armed[k] = st
	}
	st.inflight++
	s.armMu.Unlock()
}

func (s *Store) armEnd(k string) {
	now := time.Now()
	s.armMu.Lock()
	if st := s.armed[k]; st != nil {
		st.inflight--
		st.last = now
	}
	s.armMu.Unlock()
}

// sweepArmed drops the records whose cached copy has expired; if the
// record is still at its bound it drops more (those not in flight), and
// until their copies may have expired every key counts as possibly
// cached (armAllUntil). Called with armMu held, when the record reaches
// armSweepAt entries, which doubles with what survives a sweep (so
// sweeps cost O(1) per record amortised).
func (s *Store) sweepArmed(now time.Time) {
	ttl := s.cfg.CacheTTL
	for k, st := range s.armed {
		if st.inflight == 0 && now.Sub(st.last) >= ttl {
			delete(s.armed, k)
		}
	}
	limit := s.cfg.MaxCachedKeys
	if len(s.armed) >= limit {
		keep := limit * 3 / 4
		for k, st := range s.armed {
			if len(s.armed) <= keep {
				break
			}
			if st.inflight > 0 {
				continue
			}
			if until := st.last.Add(ttl); until.After(s.armAllUntil) {
				s.armAllUntil = until
			}
			delete(s.armed, k)
		}
	}
	s.armSweepAt = min(max(2*len(s.armed), 1024), limit)
}

// disarm runs after rueidis deleted k's local entry for an invalidation
// (k == "": all entries, after a nil invalidation).
func (s *Store) disarm(k string) {
	s.armMu.Lock()
	if k == "" {
		for key, st := range s.armed {
			if st.inflight == 0 {
				delete(s.armed, key)
			}
		}
	} else if st := s.armed[k]; st != nil && st.inflight == 0 {
		delete(s.armed, k)
	}
	s.armMu.Unlock()
}

// mayHoldCached reports whether rueidis's client-side cache may hold data
// key k: a DoCache of k is in flight, or returned less than CacheTTL ago
// and no invalidation was processed since (or the record overflowed
// recently). Only then can a cached read return something older than our
// own Commit, so only then does Commit need its read-your-own-writes
// barrier.
func (s *Store) mayHoldCached(k string) bool {
	now := time.Now()
	s.armMu.Lock()
	defer s.armMu.Unlock()
	if now.Before(s.armAllUntil) {
		return true
	}
	st, ok := s.armed[k]
	return ok && (st.inflight > 0 || now.Sub(st.last) < s.cfg.CacheTTL)
}

func (s *Store) handleInvalidations(msgs []rueidis.RedisMessage) {
	watching := s.nWatch.Load() > 0
	if msgs == nil {
		if watching {
			s.countWatches("")
		}
		s.disarm("")
		s.wakeAll()
		s.notify(nil)
		s.nilMu.Lock()
		s.nilInv.Add(1)
		if s.nilCh != nil {
			close(s.nilCh)
			s.nilCh = nil
		}
		s.nilMu.Unlock()
		return
	}
	var ids []string
	for i := range msgs {
		k, err := msgs[i].ToString()
		if err != nil {
			continue
		}
		s.wake(k)
		if strings.HasPrefix(k, s.cfg.Prefix) && !strings.HasSuffix(k, s.cfg.LockSuffix) {
			if watching {
				s.countWatches(k)
			}
			s.disarm(k)
			ids = append(ids, k[len(s.cfg.Prefix):])
		}
	}
	if len(ids) > 0 {
		s.notify(ids)
	}
}

func (s *Store) notify(ids []string) {
	p := s.subs.Load()
	if p == nil {
		return
	}
	for _, su := range *p {
		su.fn(ids)
	}
}

// Waiters of one lock key form a FIFO queue: an invalidation of the key
// wakes only the head, so that a release costs one SET NX in this process
// instead of one per waiter. When the head leaves the queue (it got the
// lock or gave up) the next head is woken at once: it tries once more and,
// finding the lock busy, re-arms tracking of the key (Redis forgets a
// tracked key once it sent its invalidation), so that the next release
// reaches it.
func (s *Store) addWaiter(lockKey string) *waiter {
	w := &waiter{ch: make(chan struct{}, 1)}
	s.mu.Lock()
	s.waiters[lockKey] = append(s.waiters[lockKey], w)
	s.mu.Unlock()
	return w
}

func (s *Store) removeWaiter(lockKey string, w *waiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.waiters[lockKey]
	for i, x := range q {
		if x != w {
			continue
		}
		q = append(q[:i:i], q[i+1:]...)
		if len(q) == 0 {
			delete(s.waiters, lockKey)
			return
		}
		s.waiters[lockKey] = q
		if i == 0 {
			signal(q[0])
		}
		return
	}
}

func signal(w *waiter) {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

func (s *Store) wake(lockKey string) {
	s.mu.Lock()
	if q := s.waiters[lockKey]; len(q) > 0 {
		signal(q[0])
	}
	s.mu.Unlock()
}

func (s *Store) wakeAll() {
	s.mu.Lock()
	for _, q := range s.waiters {
		for _, w := range q {
			signal(w)
		}
	}
	s.mu.Unlock()
}

// reconcileCtx returns a context for the commands that establish what Redis
// did after an error: detached from the caller's cancellation (the answer
// is needed even if the caller gave up), bounded by ReconcileTimeout (whose
// end counts as Redis not answering).
func (s *Store) reconcileCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(context.WithoutCancel(ctx), s.cfg.ReconcileTimeout, errNoReply)
}

// oomReply reports whether err is Redis refusing a command because it is
// over maxmemory (maxmemory-policy noeviction, or nothing left to evict).
func oomReply(err error) bool {
	rerr, ok := rueidis.IsRedisErr(err)
	return ok && rerr != nil && strings.HasPrefix(rerr.Error(), "OOM ")
}

// isRedisReply reports whether err is an error reply from Redis (the command
// was refused, hence not executed), as opposed to a network error or a
// timeout (outcome unknown).
func isRedisReply(err error) bool {
	if err == nil || rueidis.IsRedisNil(err) {
		return true
	}
	var re *rueidis.RedisError
	return errors.As(err, &re)
}

// Get reads the session data without a lock. With Open/OpenURL it is a
// client-side-cached read (rueidis DoCache, kept fresh by invalidations): a
// hit costs no round trip. It never returns data older than what the lock
// holder saw at our last LockAndRead and it reads our own Commit. With
// NewStore it is a plain GET. The returned bytes are a copy owned by the
// caller.
func (s *Store) Get(ctx context.Context, id string) (Data, error) {
	if s.closed.Load() {
		return Data{}, ErrClosed
	}
	if s.tracking {
		d, _, err := s.trackedGet(ctx, s.Key(id))
		return d, err
	}
	return toData(s.do(ctx, s.c.B().Get().Key(s.Key(id)).Build().Pin()))
}

// trackedGet is the client-side-cached GET of data key k, with the
// answer's expiry (Data.Expires): when the key's PTTL (read with the value
// by rueidis) or the cache's own lifetime (CacheTTL) runs out, whichever
// is first, less the round trip and a millisecond (a lower bound of when
// Redis drops the key: it counts from when it ran the command).
func (s *Store) trackedGet(ctx context.Context, k string) (Data, bool, error) {
	t0 := time.Now()
	res := s.cachedGet(ctx, k)
	if oomReply(res.Error()) {
		// Over maxmemory (noeviction) Redis refuses every command queued
		// in a MULTI, and rueidis wraps a cached read in one: a plain GET
		// still works, as phpredis' reads do. Nobody will report a change
		// of what it returns, so the answer expires at once (the memo
		// asks Redis again on the next read).
		d, err := toData(s.do(ctx, s.c.B().Get().Key(k).Build().Pin()))
		if err == nil {
			d.Expires = t0 // found or not: nobody reports a change
		}
		return d, false, err
	}
	d, err := toData(res)
	if err != nil || !d.Found {
		return d, res.IsCacheHit(), err
	}
	if pxat := res.CachePXAT(); pxat > 0 {
		d.Expires = time.UnixMilli(pxat).Add(-time.Since(t0) - time.Millisecond)
	}
	return d, res.IsCacheHit(), nil
}

// GetUntracked is a plain GET of the session data: it neither uses nor
// arms the client-side cache. For a caller about to write the key (our own
// write would invalidate a tracked copy at once, and Commit or
// WriteIfUnlocked would then need their read-your-own-writes barrier).
func (s *Store) GetUntracked(ctx context.Context, id string) (Data, error) {
	if s.closed.Load() {
		return Data{}, ErrClosed
	}
	return ownedData(s.do(ctx, s.c.B().Get().Key(s.Key(id)).Build().Pin()))
}

// GetCached is Get that also reports whether the answer came from the
// client-side cache.
func (s *Store) GetCached(ctx context.Context, id string) (d Data, hit bool, err error) {
	if s.closed.Load() {
		return Data{}, false, ErrClosed
	}
	if !s.tracking {
		d, err = s.Get(ctx, id)
		return d, false, err
	}
	return s.trackedGet(ctx, s.Key(id))
}

// ownedData is toData for a reply nothing else holds (not from DoCache,
// whose strings rueidis's cache keeps): the bytes are the reply's own
// memory, not a copy (a session read by a first write was copied twice).
// Nothing writes into Data.Bytes.
func ownedData(res rueidis.RedisResult) (Data, error) {
	b, err := res.AsBytes()
	if err != nil {
		if rueidis.IsRedisNil(err) {
			return Data{}, nil
		}
		return Data{}, fmt.Errorf("redisio: GET: %w", err)
	}
	if b == nil {
		b = []byte{} // an empty value is not a missing one
	}
	return Data{Bytes: b, Found: true}, nil
}

func toData(res rueidis.RedisResult) (Data, error) {
	str, err := res.ToString()
	if err != nil {
		if rueidis.IsRedisNil(err) {
			return Data{}, nil
		}
		return Data{}, fmt.Errorf("redisio: GET: %w", err)
	}
	return Data{Bytes: []byte(str), Found: true}, nil
}

// Exists reports whether the session key exists (EXISTS, as phpredis's
// validate_sid in strict mode).
func (s *Store) Exists(ctx context.Context, id string) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	n, err := s.do(ctx, s.c.B().Exists().Key(s.Key(id)).Build().Pin()).AsInt64()
	if err != nil {
		return false, fmt.Errorf("redisio: EXISTS: %w", err)
	}
	return n == 1, nil
}

// Destroy deletes the session key without a lock (DEL), as phpredis's
// destroy does, and reports whether it existed. A caller holding the lock
// should use Commit with WriteDelete instead.
func (s *Store) Destroy(ctx context.Context, id string) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	k := s.Key(id)
	// PTTL behind the DEL: a Get after Destroy returns does not see the
	// deleted value from the client-side cache.
	rs := s.doMulti(ctx, s.c.B().Del().Key(k).Build(), s.c.B().Pttl().Key(k).Build().Pin())
	n, err := rs[0].AsInt64()
	if err != nil {
		return false, fmt.Errorf("redisio: DEL: %w", err)
	}
	return n > 0, nil
}

// Touch refreshes the session TTL without a lock (EXPIRE, as phpredis's
// update_timestamp) and reports whether the key existed. A missing key is
// not recreated.
func (s *Store) Touch(ctx context.Context, id string) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	n, err := s.do(ctx, s.c.B().Expire().Key(s.Key(id)).Seconds(s.ttlSec).Build()).AsInt64()
	if err != nil {
		return false, fmt.Errorf("redisio: EXPIRE: %w", err)
	}
	return n == 1, nil
}

// LockHolder returns the token stored in id's lock key and its remaining
// time to live (pttl < 0: no TTL). held is false when there is no lock.
func (s *Store) LockHolder(ctx context.Context, id string) (token string, pttl time.Duration, held bool, err error) {
	if s.closed.Load() {
		return "", 0, false, ErrClosed
	}
	return s.lockHolderKey(ctx, s.LockKey(id))
}

func (s *Store) lockHolderKey(ctx context.Context, lk string) (token string, pttl time.Duration, held bool, err error) {
	rs := s.doMulti(ctx, s.c.B().Get().Key(lk).Build().Pin(), s.c.B().Pttl().Key(lk).Build().Pin())
	token, err = rs[0].ToString()
	if rueidis.IsRedisNil(err) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, fmt.Errorf("redisio: GET lock: %w", err)
	}
	ms, err := rs[1].AsInt64()
	if err != nil {
		return token, 0, true, fmt.Errorf("redisio: PTTL lock: %w", err)
	}
	if ms == -2 { // released between the two commands
		return "", 0, false, nil
	}
	if ms < 0 {
		return token, -1, true, nil
	}
	return token, time.Duration(ms) * time.Millisecond, true, nil
}

// Stats are cumulative counters of a Store, for metrics and tests.
type Stats struct {
	Acquired        int64 // locks taken by LockAndRead/TryLockAndRead
	Busy            int64 // acquisition attempts that found the lock held
	Waits           int64 // times a LockAndRead blocked waiting for a foreign lock
	WakeInvalidated int64 // waits ended by an invalidation (or reconnect)
	WakeTimer       int64 // waits ended by the PTTL timer or the safety poll
	Timeouts        int64 // LockAndRead calls that ended with ErrLockTimeout
	Commits         int64 // successful Commit/CommitKeep calls
	LockLost        int64 // Commit/CommitKeep/Renew calls that found the lock not ours
	Reconciled      int64 // network errors or timeouts resolved by reconciliation
	Unknown         int64 // outcomes that could not be established (ErrOutcomeUnknown)
	BarrierRereads  int64 // split mode: cached data found stale by the barrier and re-read
	BusyRetries     int64 // commands re-sent after READONLY/LOADING/... (failover, restart)
	CASApplied      int64 // WriteIfUnlocked calls that wrote (or confirmed)
	CASHeld         int64 // WriteIfUnlocked calls refused because the lock was held
	CASChanged      int64 // WriteIfUnlocked calls refused because the data had changed
	LeaseTaken      int64 // write leases taken by AcquireLease (renewals not counted)
	LeaseBusy       int64 // AcquireLease calls that found another holder
	LeaseReleased   int64 // write leases given back by ReleaseLease
	LeaseJoined     int64 // AcquireLease and LeaseRivals calls that recorded this process as taking part in a lease
	FailoverDrops   int64 // Cluster: nodes found demoted or replaced (failover.go) whose connections were closed and cached copies dropped
}

type stats struct {
	acquired, busy, waits, wakeInv, wakeTimer, timeouts, commits, lockLost, reconciled, unknown, barrierRereads, busyRetries, casApplied, casHeld, casChanged, leaseTaken, leaseBusy, leaseReleased, leaseJoined, failoverDrops atomic.Int64
}

// Stats returns a snapshot of the Store's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Acquired: s.st.acquired.Load(), Busy: s.st.busy.Load(), Waits: s.st.waits.Load(),
		WakeInvalidated: s.st.wakeInv.Load(), WakeTimer: s.st.wakeTimer.Load(), Timeouts: s.st.timeouts.Load(),
		Commits: s.st.commits.Load(), LockLost: s.st.lockLost.Load(), Reconciled: s.st.reconciled.Load(),
		Unknown: s.st.unknown.Load(), BarrierRereads: s.st.barrierRereads.Load(), BusyRetries: s.st.busyRetries.Load(),
		CASApplied: s.st.casApplied.Load(), CASHeld: s.st.casHeld.Load(), CASChanged: s.st.casChanged.Load(),
		LeaseTaken: s.st.leaseTaken.Load(), LeaseBusy: s.st.leaseBusy.Load(), LeaseReleased: s.st.leaseReleased.Load(), LeaseJoined: s.st.leaseJoined.Load(),
		FailoverDrops: s.st.failoverDrops.Load(),
	}
}

// switching reports whether a Sentinel switch is under way: connections
// to two masters are open. rueidis dials the new master, asks its role,
// swaps it in, then closes the old master's connection, which first waits
// for the commands in flight on it. From the dial (where the Store drops
// what it had cached) to the swap, reads still go to the old master, and
// what they return may be missing the new master's writes; until the old
// connection is closed (where the Store drops it all again, see
// masterConn) no copy can be trusted to be what the new master holds, so
// every Watch counts as invalidated (TestSentinelSwitchWatch).
func (s *Store) switching() bool {
	if !s.sentinel {
		return false
	}
	s.connMu.Lock()
	defer s.connMu.Unlock()
	return len(s.masterConns) > 1
}

// sentinelDial reports whether the dial hook's connection to dst is to a
// Sentinel rather than to a master.
func (s *Store) sentinelDial(dst string, d *net.Dialer) bool {
	if s.sentinelRes != nil {
		return d != nil && d.Resolver == s.sentinelRes
	}
	return slices.Contains(s.sentinelAddrs, dst)
}

// setNoDelayOff turns Nagle's algorithm back on for c (TCP, or TLS over
// TCP), as rueidis does for DisableTCPNoDelay.
func setNoDelayOff(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(false)
	}
}

// trackMasterConn counts c, a new connection to the master at dst, among
// the open master connections until it is closed.
func (s *Store) trackMasterConn(dst string, c net.Conn) net.Conn {
	s.connMu.Lock()
	s.masterConns[dst]++
	s.connMu.Unlock()
	return &masterConn{Conn: c, s: s, dst: dst}
}

// masterConn is a connection to a Sentinel's master. Its Close drops
// everything cached or tracked, as the nil invalidation rueidis sends for
// a closed connection does, but at once: rueidis sends that one when the
// connection's reader has noticed, which may be after commands on the new
// master's connection answered.
type masterConn struct {
	net.Conn
	s    *Store
	dst  string
	once sync.Once
}

// Close closes the connection and, the first time, drops the Store's
// cached copies before the connection stops counting as open.
func (c *masterConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.s.handleInvalidations(nil)
		c.s.connMu.Lock()
		if c.s.masterConns[c.dst]--; c.s.masterConns[c.dst] <= 0 {
			delete(c.s.masterConns, c.dst)
		}
		c.s.connMu.Unlock()
	})
	return err
}
