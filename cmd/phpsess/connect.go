package main

// Shared connection flags and helpers of the operator commands. The flags
// are persistent flags of the root command, so they work before or after
// the subcommand name. (bench keeps its own local --redis, which shadows
// this one and adds the throwaway-server fallback.)

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"
	"github.com/spf13/cobra"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/redisio"
)

// defaultRedisURL is used when neither --redis nor $REDIS_URL is set.
const defaultRedisURL = "redis://127.0.0.1:6379"

// globalOpts are the root's persistent flags.
type globalOpts struct {
	redisURL   string
	savePath   string
	prefix     string
	lockSuffix string
	handler    string
	compress   string
	level      int
	json       bool
	statsAddr  string
	noTracking bool
}

var g globalOpts

func addGlobalFlags(root *cobra.Command) {
	g = globalOpts{}
	pf := root.PersistentFlags()
	pf.StringVar(&g.redisURL, "redis", "", "Redis `URL`: redis://, rediss://, redis-sentinel://; a cluster is detected (default $REDIS_URL, else "+defaultRedisURL+")")
	pf.StringVar(&g.savePath, "save-path", "", "PHP's session.save_path `STRING` (phpredis: tcp://, tls://, unix:, with prefix, database, auth): sets the Redis URL and the prefix; not with --redis or --prefix")
	pf.StringVar(&g.prefix, "prefix", phpsession.DefaultPrefix, "session key `PREFIX` (phpredis save_path prefix; '' for none)")
	pf.StringVar(&g.lockSuffix, "lock-suffix", phpsession.DefaultLockSuffix, "lock key `SUFFIX`")
	pf.StringVar(&g.handler, "handler", "php", handlerUsage)
	addCompressionFlags(root, true, &g.compress, &g.level)
	pf.BoolVar(&g.json, "json", false, "machine-readable JSON output")
	pf.BoolVar(&g.noTracking, "no-tracking", false, "connect without client-side caching (Redis < 6, proxies, servers refusing CLIENT TRACKING); watch then polls")
	pf.StringVar(&g.statsAddr, "stats-addr", "", "serve this process's coordinator metrics as JSON at http://`ADDR`/debug/vars (read by 'phpsess stats --from ADDR')")
	_ = root.RegisterFlagCompletionFunc("handler", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return handlerNames(true), cobra.ShellCompDirectiveNoFileComp
	})
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		runStarted = true
		if err := g.applySavePath(cmd); err != nil {
			return err
		}
		if g.statsAddr != "" {
			return startStatsServer(cmd, g.statsAddr)
		}
		return nil
	}
}

// applySavePath sets --redis and --prefix from --save-path, read as
// phpredis reads session.save_path (phpsession.ParseSavePath).
func (o *globalOpts) applySavePath(cmd *cobra.Command) error {
	if o.savePath == "" {
		return nil
	}
	flags := cmd.Flags()
	if flags.Changed("redis") || flags.Changed("prefix") {
		return usageError{errors.New("--save-path sets the Redis URL and the prefix: give it without --redis and --prefix")}
	}
	p, err := phpsession.ParseSavePath(o.savePath)
	if err != nil {
		return usageError{fmt.Errorf("--save-path: %w", err)}
	}
	o.redisURL = p.URL()
	o.prefix = phpsession.DefaultPrefix
	if p.HasPrefix {
		o.prefix = p.Prefix
	}
	return nil
}

// redisURL returns --redis, else $REDIS_URL, else the default.
func (o *globalOpts) url() string {
	if u := explicitRedisURL(); u != "" {
		return u
	}
	return defaultRedisURL
}

// explicitRedisURL returns --redis, else $REDIS_URL, else "" (for
// commands with their own fallback, such as bench's throwaway server; bench
// may drop its local --redis flag and use this with the global one).
func explicitRedisURL() string {
	if g.redisURL != "" {
		return g.redisURL
	}
	return os.Getenv("REDIS_URL")
}

// redacted returns the URL with any password masked, for messages.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}

// format parses --handler, --compression and --compression-level; auto
// reports --handler auto.
func (o *globalOpts) format() (codec.Format, bool, error) {
	return parseFormatFlags(o.handler, o.compress, o.level)
}

// storeConfig is the redisio configuration from the flags.
func (o *globalOpts) storeConfig() redisio.Config {
	return redisio.Config{
		Prefix:     o.prefix,
		NoPrefix:   o.prefix == "",
		LockSuffix: o.lockSuffix,
	}
}

func (o *globalOpts) checkKeys() error {
	if o.lockSuffix == "" {
		return usageError{errors.New("--lock-suffix must not be empty")}
	}
	return nil
}

// openStore connects to Redis (standalone, Sentinel or Cluster) with
// client tracking, for the commands that read keys directly.
func openStore(cfg redisio.Config) (*redisio.Store, error) {
	if err := g.checkKeys(); err != nil {
		return nil, err
	}
	u := g.url()
	if g.noTracking {
		c, err := plainClient(u)
		if err != nil {
			return nil, err
		}
		return redisio.NewStore(c, cfg)
	}
	// ParseURL and Open rather than OpenURL: OpenURL adds the URL to its
	// errors, and connectError says where it connected once.
	opt, err := redisio.ParseURL(u)
	if err != nil {
		return nil, connectError(u, err)
	}
	s, err := redisio.Open(opt, cfg)
	if err != nil {
		return nil, connectError(u, err)
	}
	return s, nil
}

// notRedis rewrites the error of a server that answered, but not in the
// Redis protocol (an HTTP server answers "HTTP/1.1 400", and the client
// reports "received unknown message type: 72", 72 being 'H').
func notRedis(u string, err error) error {
	const marker = "unknown message type: "
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	i := strings.Index(msg, marker)
	if i < 0 || strings.Contains(msg, "did not answer as a Redis server") {
		return err
	}
	first := ""
	if n, perr := strconv.Atoi(strings.TrimRightFunc(msg[i+len(marker):], func(r rune) bool { return r < '0' || r > '9' })); perr == nil && n >= 0x20 && n < 0x7f {
		first = fmt.Sprintf(" (its reply began with %q)", rune(n))
	}
	return fmt.Errorf("%s did not answer as a Redis server%s; check the address and port in --redis or $REDIS_URL", redisAddr(u), first)
}

// redisAddr returns the host:port of a Redis URL, for messages.
func redisAddr(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return redacted(u)
}

// connectError describes a failed connection to u once. A server that
// cannot be reached or does not answer as Redis is described by the
// library's ErrUnavailable message, which already names the address, so
// the URL is not added again; a server that refused client tracking gets
// the way around it; any other error names the URL (password masked).
func connectError(u string, err error) error {
	msg := err.Error()
	var pe *phpsession.Error
	if errors.As(err, &pe) && pe.Err != nil {
		msg = pe.Err.Error() // without "phpsession: open: "
	}
	msg = strings.TrimPrefix(msg, "redisio: ")
	// A server that refuses CLIENT TRACKING answered, in the Redis
	// protocol: the way around it comes before the unavailable case.
	if strings.Contains(msg, "DisableCache") || strings.Contains(msg, "TRACKING") {
		first, _, _ := strings.Cut(strings.TrimPrefix(msg, "connect: "), "\n")
		return fmt.Errorf("connect to %s: %s (the server does not support client tracking: use --no-tracking)", redacted(u), first)
	}
	if errors.Is(err, redisio.ErrUnavailable) {
		return fmt.Errorf("%s; check the address and port in --redis or $REDIS_URL", msg)
	}
	return fmt.Errorf("connect to %s: %s", redacted(u), strings.TrimPrefix(msg, "connect: "))
}

// ownedClients are closed when run returns.
var (
	ownedMu      sync.Mutex
	ownedClients []rueidis.Client
)

func closeOwnedClients() {
	ownedMu.Lock()
	defer ownedMu.Unlock()
	for _, c := range ownedClients {
		c.Close()
	}
	ownedClients = nil
}

// plainClient connects without client-side caching (--no-tracking).
func plainClient(u string) (rueidis.Client, error) {
	opt, err := redisio.ParseURL(u)
	if err != nil {
		return nil, usageError{fmt.Errorf("--redis: %w", err)}
	}
	opt.DisableCache = true
	// redisio.NewClient for its errors (ErrUnavailable, naming the
	// address); timeout 0 keeps rueidis's own dial timeout
	c, err := redisio.NewClient(opt, 0)
	if err != nil {
		return nil, connectError(u, err)
	}
	ownedMu.Lock()
	ownedClients = append(ownedClients, c)
	ownedMu.Unlock()
	return c, nil
}

// managerOpts tune the Manager of a writing command.
type managerOpts struct {
	ttl         time.Duration
	lockTimeout time.Duration
	// format, when set, replaces the flags' format (with --handler auto:
	// the format the session is stored in).
	format *codec.Format
}

// resolveFormat sets mo.format for a command that writes session id: the
// flags' format, or with --handler auto the stored session's own format
// (so that it is written back as it was). A missing session under auto
// is written as php with the flags' compression.
func (mo *managerOpts) resolveFormat(ctx context.Context, id string) (codec.Format, error) {
	f, auto, err := g.format()
	if err != nil {
		return f, err
	}
	if auto {
		st, err := openStore(g.storeConfig())
		if err != nil {
			return f, err
		}
		defer st.Close()
		d, err := st.Get(ctx, id)
		if err != nil {
			return f, err
		}
		if d.Found && len(d.Bytes) > 0 {
			_, found, err := readStored(f, true, d.Bytes)
			if err != nil {
				return f, fmt.Errorf("session %q: %w", id, err)
			}
			f = found
		}
	}
	mo.format = &f
	return f, nil
}

func (o *managerOpts) addFlags(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&o.ttl, "ttl", phpsession.DefaultTTL, "TTL written with the session (match PHP's session.gc_maxlifetime)")
	cmd.Flags().DurationVar(&o.lockTimeout, "lock-timeout", 10*time.Second, "how long to wait for the session lock held by PHP or another process")
}

// openManager connects a coordinator (phpsession.Manager) for the commands
// that write sessions: every write goes through the session's lock. JSON
// fields are off: values are stored as given.
func openManager(mo managerOpts) (*phpsession.Manager, error) {
	if err := g.checkKeys(); err != nil {
		return nil, err
	}
	f := mo.format
	if f == nil {
		ff, auto, err := g.format()
		if err != nil {
			return nil, err
		}
		if auto {
			return nil, usageError{errors.New("--handler auto: this command writes; name the serializer")}
		}
		f = &ff
	}
	level := f.Level
	if level == 0 {
		level = -1 // Config: 0 is the default (3); negative is phpredis's 0
	}
	u := g.url()
	cfg := phpsession.Config{
		Prefix:             g.prefix,
		NoPrefix:           g.prefix == "",
		LockSuffix:         g.lockSuffix,
		Serializer:         f.Handler,
		Compression:        f.Compression,
		CompressionLevel:   level,
		TTL:                mo.ttl,
		LockTimeout:        mo.lockTimeout,
		JSONFields:         &codec.JSONFields{},
		DisableClientCache: g.noTracking,
		ReadRefresh:        -1, // inspecting a session does not keep it alive
	}
	opt, err := redisio.ParseURL(u)
	if err != nil {
		return nil, usageError{fmt.Errorf("--redis: %w", err)}
	}
	m, err := phpsession.Open(opt, cfg)
	if err != nil {
		return nil, connectError(u, err)
	}
	registerManager(m)
	return m, nil
}

// closeManager closes m, bounded in time.
func closeManager(m *phpsession.Manager) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = m.Close(ctx)
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// fmtTTL renders a PTTL: "none" for keys without expiry.
func fmtTTL(d time.Duration) string {
	if d < 0 {
		return "none"
	}
	if d >= time.Second {
		d = d.Round(time.Second)
	}
	return d.String()
}

// ttlMillis is the JSON form of a PTTL: -1 when none.
func ttlMillis(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	return d.Milliseconds()
}
