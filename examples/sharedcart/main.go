// Command sharedcart demonstrates a Go HTTP handler and a PHP script sharing
// one PHP session (phpredis session handler) through phpsession.
//
//	go run ./examples/sharedcart          # run the demo and exit
//	go run ./examples/sharedcart -serve   # keep the Go server running
//
// Redis: REDIS_URL when set; otherwise a redis-server found on PATH is
// started on a free port (and killed on exit); otherwise an in-process
// miniredis is used (no client tracking: caching is off). See README.md.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/redisserver"
)

//go:embed cart.php
var cartPHP []byte

// Item is one cart line. The cart is stored by PHP as JSON text in the
// session variable "scart_items", one of phpsession's default JSON fields.
type Item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type app struct{ m *phpsession.Manager }

// addToCart is the Go handler: POST /cart?sku=X&qty=N.
func (a *app) addToCart(w http.ResponseWriter, r *http.Request) {
	sku := r.URL.Query().Get("sku")
	qty, _ := strconv.Atoi(r.URL.Query().Get("qty"))
	if sku == "" || qty <= 0 {
		http.Error(w, "need sku and qty>0", http.StatusBadRequest)
		return
	}
	// Update is batched with every other update of this session in flight
	// and written by one check-and-write that refuses while PHP holds the
	// session lock or the session changed (the batch then waits or re-runs
	// on the new data): PHP never waits for it, and no write is lost.
	err := a.m.Update(r.Context(), "", func(s *phpsession.Session) error {
		var n int
		if _, err := s.Unmarshal("go_requests", &n); err != nil {
			return err
		}
		if err := s.Set("go_requests", n+1); err != nil {
			return err
		}
		return addItem(s, sku, qty)
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a.showCart(w, r)
}

// showCart: GET /cart (no lock; served from the cached, decoded session).
func (a *app) showCart(w http.ResponseWriter, r *http.Request) {
	items, err := phpsession.GetAs[[]Item](r.Context(), a.m, "", "scart_items")
	if err != nil && !errors.Is(err, phpsession.ErrNotFound) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	id, _ := phpsession.SessionID(r)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"session": id, "cart": items})
}

func main() {
	serve := flag.Bool("serve", false, "keep the Go server running after the demo (Ctrl-C to stop)")
	addr := flag.String("addr", "127.0.0.1:0", "Go server listen address")
	flag.Parse()
	log.SetFlags(0)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	redisURL, redisAddr, cleanup, caching := startRedis()
	err := run(ctx, redisURL, redisAddr, caching, *addr, *serve)
	cleanup() // also on failure: never leave the redis-server we started behind
	if err != nil {
		fmt.Fprintf(os.Stderr, "sharedcart: %v\n", err)
		os.Exit(1)
	}
}

// run serves the Go side on addr and runs the demo; with serve it keeps
// serving until ctx ends.
func run(ctx context.Context, redisURL, redisAddr string, caching bool, addr string, serve bool) error {
	m, err := phpsession.OpenURL(redisURL, phpsession.Config{DisableClientCache: !caching})
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer m.Close(context.Background())

	a := &app{m: m}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", a.addToCart)
	mux.HandleFunc("GET /cart", a.showCart)
	mw, err := m.Middleware(phpsession.MiddlewareOptions{Start: true})
	if err != nil {
		return err
	}
	handler := mw(mux)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: handler}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	fmt.Printf("Go server on %s\n", base)

	if err := demo(ctx, m, base, redisURL, redisAddr); err != nil {
		return fmt.Errorf("demo failed: %w", err)
	}
	if serve {
		fmt.Printf("\nServing on %s (POST /cart?sku=X&qty=N, GET /cart); Redis at %s. Ctrl-C to stop.\n", base, redisURL)
		<-ctx.Done()
	}
	return nil
}

func demo(ctx context.Context, m *phpsession.Manager, base, redisURL, redisAddr string) error {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	post := func(sku string, qty int) error {
		resp, err := client.Post(base+"/cart?sku="+url.QueryEscape(sku)+"&qty="+strconv.Itoa(qty), "", nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("POST /cart: %s", resp.Status)
		}
		return nil
	}

	fmt.Println("\n1. A browser adds a Go-T-shirt; the middleware starts a PHP session (PHPSESSID cookie).")
	if err := post("go-tshirt", 1); err != nil {
		return err
	}
	u, _ := url.Parse(base)
	var id string
	for _, c := range jar.Cookies(u) {
		if c.Name == "PHPSESSID" {
			id = c.Value
		}
	}
	fmt.Printf("   session ID %s; Redis key PHPREDIS_SESSION:%s\n", id, id)

	const concurrent = 200
	fmt.Printf("\n2. %d concurrent requests of that browser each add 1 sticker through the Go handler.\n", concurrent)
	st0 := m.Stats()
	t0 := time.Now()
	if err := concurrently(concurrent, func() error { return post("sticker", 1) }); err != nil {
		return err
	}
	st1 := m.Stats()
	fmt.Printf("   done in %v; none lost. What the Manager did (Manager.Stats):\n", time.Since(t0).Round(time.Millisecond))
	explain(st0, st1)

	phpRuns, phpDropped := 0, 0 // PHP requests started; dropped after giving up on the lock
	if php, why := findPHP(); php == "" {
		fmt.Printf("\n3. PHP side skipped: %s.\n   Install php-cli and php-redis (Debian) to see PHP and Go share the cart.\n", why)
	} else {
		dir, err := os.MkdirTemp("", "sharedcart")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		script := filepath.Join(dir, "cart.php")
		if err := os.WriteFile(script, cartPHP, 0o644); err != nil {
			return err
		}
		const phpProcs, phpTimes = 2, 25
		phpRuns = phpProcs * phpTimes
		fmt.Printf("\n3. While Go adds %d more stickers, %d PHP processes (phpredis, locking on, 5.3 defaults)\n   each add a PHP mug %d times to the same session.\n", concurrent, phpProcs, phpTimes)
		var pwg sync.WaitGroup
		phpErr := make(chan error, phpProcs)
		var lockFailures atomic.Int64
		for p := 0; p < phpProcs; p++ {
			pwg.Add(1)
			go func() {
				defer pwg.Done()
				args := append(phpFlags(redisAddr), script, id, "php-mug", "1", strconv.Itoa(phpTimes))
				cmd := exec.CommandContext(ctx, php, args...)
				out, err := cmd.CombinedOutput()
				// phpredis 5.3 polls 11 times 2 ms apart and then gives up: the
				// request goes on without the lock and its write is refused.
				// That is counted (PHP processes can starve each other too);
				// any other diagnostic is an error.
				failed := strings.Count(string(out), "Acquire of session lock was not successful")
				lockFailures.Add(int64(failed))
				rest := regexp.MustCompile(`(?m)^.*(Acquire of session lock was not successful|Failed to write session data).*$`).ReplaceAllString(string(out), "")
				if err != nil || strings.Contains(rest, "Notice") || strings.Contains(rest, "Warning") {
					phpErr <- fmt.Errorf("php: %v: %s", err, out)
				}
			}()
		}
		goErr := concurrently(concurrent, func() error { return post("sticker", 1) })
		pwg.Wait()
		if goErr != nil {
			return goErr
		}
		close(phpErr)
		for err := range phpErr {
			return err
		}
		if n := lockFailures.Load(); n == 0 {
			fmt.Println("   PHP finished without a single lock failure.")
		} else {
			phpDropped = int(n)
			fmt.Printf("   PHP gave up on the lock %d times (phpredis 5.3: 11 tries 2 ms apart); those requests wrote nothing.\n", n)
		}
	}

	items, err := phpsession.GetAs[[]Item](ctx, m, id, "scart_items")
	if err != nil {
		return err
	}
	fmt.Println("\n4. The cart, read back by Go (no lock; from the cached decoded session when caching is on):")
	want := map[string]int{"go-tshirt": 1, "sticker": concurrent, "php-mug": phpRuns - phpDropped}
	if phpRuns > 0 {
		want["sticker"] = 2 * concurrent
	}
	ok := true
	for _, it := range items {
		fmt.Printf("   %-10s x %d\n", it.SKU, it.Qty)
		if want[it.SKU] != it.Qty {
			ok = false
		}
	}
	goReq, _ := phpsession.GetAs[int](ctx, m, id, "go_requests")
	phpReq, _ := phpsession.GetAs[int](ctx, m, id, "php_requests")
	fmt.Printf("   go_requests=%d php_requests=%d\n", goReq, phpReq)
	if !ok || goReq != 1+concurrent+min(phpRuns, 1)*concurrent || phpReq != phpRuns-phpDropped {
		return fmt.Errorf("lost updates: cart %v, want %v", items, want)
	}
	raw, err := m.Store().Get(ctx, id)
	if err != nil {
		return err
	}
	fmt.Printf("\n5. The bytes in Redis are PHP's own session format:\n   %s\n", raw.Bytes)
	fmt.Println("\n6. The whole run (Manager.Stats since the start):")
	explain(phpsession.Stats{}, m.Stats())
	fmt.Printf("   %-9d pauses left for PHP (fairness: an actor that keeps the session busy leaves PHP's lock retries a free window)\n", m.Stats().FairnessGaps)

	return compare(ctx, m, redisURL, concurrent)
}

// explain prints the figures of the interval from a to b, one line each.
func explain(a, b phpsession.Stats) {
	updates, reads := b.Updates-a.Updates, b.Reads-a.Reads
	batches, writes := b.Batches-a.Batches, b.Writes-a.Writes
	lockFree, conflicts := b.LockFreeBatches-a.LockFreeBatches, b.Conflicts-a.Conflicts
	hits, misses := b.CacheHits-a.CacheHits, b.CacheMisses-a.CacheMisses
	fmt.Printf("   %-9d updates: Update calls of the POST handlers (each adds to the cart and counts the request)\n", updates)
	fmt.Printf("   %-9d batches: the session's actor applies together what was queued while Redis was busy; one Redis write per batch that changed something\n", batches)
	fmt.Printf("   %-9.1f updates per Redis write (%d updates / %d writes): what per-request locking would pay a lock, a read and a write for each\n",
		float64(updates)/float64(max(1, writes)), updates, writes)
	fmt.Printf("   %-9d lock-free batches: written by one atomic script that checks PHP holds no lock and the data is unchanged, without taking the lock\n", lockFree)
	fmt.Printf("   %-9d lock-free conflicts: such a write refused because PHP held the lock or someone changed the session first; the batch waited or re-ran (nothing lost)\n", conflicts)
	fmt.Printf("   %-9d reads (the GET /cart after each POST; reads are not updates): %d served from memory at once, %d read from Redis, %d answered by the actor after the queued updates\n",
		reads, hits, misses, reads-min(reads, hits+misses))
	if w := b.LockWaits - a.LockWaits; w > 0 {
		fmt.Printf("   %-9d waits for a lock held by PHP (%v in all)\n", w, (b.LockWaitTime - a.LockWaitTime).Round(time.Millisecond))
	}
}

// findPHP returns the php binary when it has the redis extension.
func findPHP() (string, string) {
	php, err := exec.LookPath("php")
	if err != nil {
		return "", "php not found on PATH"
	}
	out, err := exec.Command(php, "-m").Output()
	if err != nil || !strings.Contains(strings.ToLower(string(out)), "\nredis\n") {
		return "", "php has no redis extension (phpredis)"
	}
	return php, ""
}

// startRedis picks the Redis to use: REDIS_URL, else a redis-server from
// PATH on a free port, else an in-process miniredis (no client tracking).
func startRedis() (redisURL, addr string, cleanup func(), caching bool) {
	if u := os.Getenv("REDIS_URL"); u != "" {
		pu, err := url.Parse(u)
		if err != nil {
			log.Fatalf("REDIS_URL: %v", err)
		}
		fmt.Printf("Redis: REDIS_URL=%s\n", u)
		return u, pu.Host, func() {}, true
	}
	if srv, err := redisserver.Start(context.Background(), ""); err == nil {
		fmt.Printf("Redis: started %s on %s (pid %d, killed on exit)\n", redisserver.Path(), srv.Addr, srv.PID())
		return srv.URL(), srv.Addr, srv.Stop, true
	} else if !errors.Is(err, redisserver.ErrNotInstalled) {
		fmt.Printf("Redis: %v; falling back to miniredis\n", err)
	}
	mr, err := miniredis.Run()
	if err != nil {
		log.Fatalf("miniredis: %v", err)
	}
	fmt.Printf("Redis: no REDIS_URL and no redis-server on PATH; using in-process miniredis on %s.\n", mr.Addr())
	fmt.Println("       miniredis has no CLIENT TRACKING: client-side caching is OFF (reads cost a round trip,")
	fmt.Println("       lock waits poll). Install redis-server for the real thing.")
	return "redis://" + mr.Addr(), mr.Addr(), mr.Close, false
}

// phpFlags are the ini settings of the demo's PHP processes: phpredis's
// session handler on addr with its lock (5.3 defaults), every diagnostic
// on stderr exactly once (php-cli also logs each message to stderr unless
// log_errors is off, which would count every lock failure twice).
func phpFlags(addr string) []string {
	return []string{
		"-d", "session.save_handler=redis",
		"-d", "session.save_path=tcp://" + addr,
		"-d", "redis.session.locking_enabled=1",
		"-d", "session.use_cookies=0", "-d", "session.cache_limiter=",
		"-d", "display_errors=stderr", "-d", "error_reporting=E_ALL",
		"-d", "log_errors=0",
	}
}
