package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/codec"
)

// compare runs the same workload — n concurrent requests each adding one
// sticker to a fresh session's cart — through phpsession and through
// per-request locking (what phpredis, and a Go port of it, do for every
// request: take the lock, read, write, release), and prints the Redis
// commands each sent and the wall time.
func compare(ctx context.Context, m *phpsession.Manager, redisURL string, n int) error {
	opt, err := rueidis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	opt.DisableCache = true
	c, err := rueidis.NewClient(opt)
	if err != nil {
		return err
	}
	defer c.Close()
	// Commands Redis processed (INFO stats), minus the INFO call itself.
	processed := func() (int64, bool) {
		info, err := c.Do(ctx, c.B().Info().Section("stats").Build()).ToString()
		if err != nil {
			return 0, false
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
				x, err := strconv.ParseInt(v, 10, 64)
				return x, err == nil
			}
		}
		return 0, false
	}
	run := func(add func(id string) error) (cmds int64, counted bool, wall time.Duration, id string, err error) {
		id = phpsession.NewID()
		before, ok1 := processed()
		t0 := time.Now()
		err = concurrently(n, func() error { return add(id) })
		wall = time.Since(t0)
		if err != nil {
			return 0, false, wall, id, err
		}
		after, ok2 := processed()
		return after - before - 1, ok1 && ok2, wall, id, nil
	}

	fmt.Printf("\n7. The same workload both ways, side by side: %d concurrent requests each add 1 sticker to a new session.\n", n)
	st0 := m.Stats()
	libCmds, libCounted, libWall, libID, err := run(func(id string) error {
		return m.Update(ctx, id, func(s *phpsession.Session) error { return addItem(s, "sticker", 1) })
	})
	if err != nil {
		return fmt.Errorf("phpsession run: %w", err)
	}
	st1 := m.Stats()
	var retries atomic.Int64
	pr := &perRequest{c: c, retries: &retries}
	prCmds, prCounted, prWall, prID, err := run(func(id string) error { return pr.add(ctx, id, "sticker", 1) })
	if err != nil {
		return fmt.Errorf("per-request run: %w", err)
	}
	for _, id := range []string{libID, prID} {
		items, err := phpsession.GetAs[[]Item](ctx, m, id, "scart_items")
		if err != nil {
			return err
		}
		if len(items) != 1 || items[0].Qty != n {
			return fmt.Errorf("lost updates in the comparison: cart %v, want %d stickers", items, n)
		}
	}
	show := func(cmds int64, ok bool) string {
		if !ok {
			return "n/a"
		}
		return strconv.FormatInt(cmds, 10)
	}
	fmt.Printf("   %-34s %14s %22s\n", "", "phpsession", "per-request lock")
	fmt.Printf("   %-34s %14s %22s\n", "Redis commands", show(libCmds, libCounted), show(prCmds, prCounted))
	fmt.Printf("   %-34s %14v %22v\n", "wall time", libWall.Round(time.Millisecond), prWall.Round(time.Millisecond))
	fmt.Printf("   %-34s %14d %22d\n", "Redis writes of the session", st1.Writes-st0.Writes, n)
	fmt.Printf("   %-34s %14s %22d\n", "lock attempts that found it taken", "-", retries.Load())
	fmt.Println("   Both carts end with all", n, "stickers. Per-request locking is 4 commands per request when nobody")
	fmt.Println("   waits (SET NX, GET, SETEX, release) plus one SET NX every 2 ms while another request holds the")
	fmt.Println("   lock (phpredis 5.3 would give up after 11 tries and drop the update; here it keeps trying).")
	fmt.Println("   phpsession queues the requests on the session's actor and writes them in a few batches.")
	return nil
}

// addItem adds qty of sku to the cart in s (the JSON field scart_items,
// stored as JSON text like PHP's json_encode).
func addItem(s *phpsession.Session, sku string, qty int) error {
	var items []Item
	if _, err := s.Unmarshal("scart_items", &items); err != nil {
		return err
	}
	return s.Set("scart_items", addTo(items, sku, qty))
}

// addTo returns items with qty more of sku (a new line when it has none).
func addTo(items []Item, sku string, qty int) []Item {
	for i := range items {
		if items[i].SKU == sku {
			items[i].Qty += qty
			return items
		}
	}
	return append(items, Item{sku, qty})
}

// concurrently runs f n times at once and returns the first error.
func concurrently(n int, f func() error) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// perRequest is the per-request protocol of phpredis: SET lock NX PX,
// GET, decode, change, encode, SETEX, compare-and-delete release.
type perRequest struct {
	c       rueidis.Client
	retries *atomic.Int64
}

var releaseScript = rueidis.NewLuaScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`)

func (p *perRequest) add(ctx context.Context, id, sku string, qty int) error {
	key := phpsession.DefaultPrefix + id
	lock := key + phpsession.DefaultLockSuffix
	tok := phpsession.NewID()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := p.c.Do(ctx, p.c.B().Set().Key(lock).Value(tok).Nx().PxMilliseconds(30000).Build()).Error()
		if err == nil {
			break
		}
		if !rueidis.IsRedisNil(err) {
			return err
		}
		p.retries.Add(1)
		if time.Now().After(deadline) {
			return fmt.Errorf("lock not obtained in 30s")
		}
		time.Sleep(2 * time.Millisecond) // redis.session.lock_wait_time
	}
	defer releaseScript.Exec(context.WithoutCancel(ctx), p.c, []string{lock}, []string{tok})
	blob, err := p.c.Do(ctx, p.c.B().Get().Key(key).Build()).AsBytes()
	if err != nil && !rueidis.IsRedisNil(err) {
		return err
	}
	s, err := codec.DecodeSession(codec.PHP, blob, nil)
	if err != nil {
		return err
	}
	var items []Item
	if v, ok, err := s.Get("scart_items"); err != nil {
		return err
	} else if ok {
		if str, isStr := v.(codec.String); isStr {
			if err := json.Unmarshal([]byte(str), &items); err != nil {
				return err
			}
		}
	}
	j, err := json.Marshal(addTo(items, sku, qty))
	if err != nil {
		return err
	}
	if err := s.Set("scart_items", codec.String(j)); err != nil {
		return err
	}
	out, err := s.Encode()
	if err != nil {
		return err
	}
	return p.c.Do(ctx, p.c.B().Setex().Key(key).Seconds(86400).Value(rueidis.BinaryString(out)).Build()).Error()
}
