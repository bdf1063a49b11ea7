package bench

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// ceilingScript is the bare lock-free check-and-write: write only if
// nobody holds the phpredis lock and the data key still holds ARGV[1]
// (ARGV[3] "0": the key must be missing). Returns 1 written, -1 lock held,
// {0, cur} changed.
const ceilingScript = `if redis.call("exists",KEYS[1]) == 1 then return -1 end
local cur = redis.call("get",KEYS[2])
if ARGV[3] == "0" then if cur then return {0,cur} end
elseif cur ~= ARGV[1] then return {0,cur or false} end
redis.call("setex",KEYS[2],ARGV[2],ARGV[4])
return 1`

// Ceiling is the "ceiling" target: the barest loop doing the coordinator's
// protocol work on a hot session — one goroutine per session draining a
// channel into a batch, one Lua check-and-write per batch from the bytes it
// last wrote, no codec (the counter is added to the bytes by the harness's
// stand-in splice, once per batch), no actors, no memo, no pooling. The
// coordinator's throughput divided by this row's is how much of the
// protocol's own speed the library keeps.
type Ceiling struct {
	c    rueidis.Client
	lua  *rueidis.Lua
	mu   sync.Mutex
	loop map[string]chan ceilingReq
	wg   sync.WaitGroup
}

type ceilingReq struct {
	key  string
	done chan error
}

// NewCeiling builds the ceiling target over its own rueidis client.
func NewCeiling(url string) (*Ceiling, error) {
	c, err := NewRueidisClient(url, false)
	if err != nil {
		return nil, err
	}
	return &Ceiling{c: c, lua: rueidis.NewLuaScript(ceilingScript), loop: map[string]chan ceilingReq{}}, nil
}

// Name implements Target.
func (c *Ceiling) Name() string { return "ceiling (bare batching loop)" }

// Incr implements Target: queue on the session's loop, wait for its batch.
func (c *Ceiling) Incr(ctx context.Context, id, key string) error {
	c.mu.Lock()
	ch, ok := c.loop[id]
	if !ok {
		ch = make(chan ceilingReq, 1024)
		c.loop[id] = ch
		c.wg.Add(1)
		go c.run(id, ch)
	}
	c.mu.Unlock()
	r := ceilingReq{key: key, done: make(chan error, 1)}
	ch <- r
	return <-r.done
}

func (c *Ceiling) run(id string, ch chan ceilingReq) {
	defer c.wg.Done()
	var cur []byte
	known, found := false, false
	batch := make([]ceilingReq, 0, 1024)
	last := 0
	for first := range ch {
		batch = append(batch[:0], first)
		// Linger up to 100 µs for the last batch's callers to come back,
		// as the coordinator does (else batches run half full).
		deadline := time.Now().Add(100 * time.Microsecond)
	drain:
		for {
			select {
			case r, ok := <-ch:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				if len(batch) >= last || time.Now().After(deadline) {
					break drain
				}
				runtime.Gosched()
			}
		}
		last = len(batch)
		err := c.commit(id, &cur, &known, &found, batch)
		for _, r := range batch {
			r.done <- err
		}
	}
}

// commit applies the batch to the last known bytes and writes them with
// the check-and-write script, re-reading on a change and polling while the
// lock is held.
func (c *Ceiling) commit(id string, cur *[]byte, known, found *bool, batch []ceilingReq) error {
	ctx := context.Background()
	k := KeyPrefix + id
	for {
		if !*known {
			b, err := c.c.Do(ctx, c.c.B().Get().Key(k).Build()).AsBytes()
			if err != nil && !rueidis.IsRedisNil(err) {
				return err
			}
			*cur, *found, *known = b, err == nil, true
		}
		next := *cur
		for i, r := range batch {
			if i > 0 && r.key == batch[0].key {
				continue
			}
			n := int64(0)
			for _, o := range batch[i:] {
				if o.key == r.key {
					n++
				}
			}
			var err error
			if next, err = addBlob(next, r.key, n); err != nil {
				return err
			}
		}
		kind := "b"
		if !*found {
			kind = "0"
		}
		v := c.lua.Exec(ctx, c.c, []string{k + LockSuffix, k}, []string{rueidis.BinaryString(*cur), ttlArg, kind, rueidis.BinaryString(next)})
		if n, err := v.AsInt64(); err == nil {
			if n == 1 {
				*cur, *found = next, true
				return nil
			}
			time.Sleep(time.Millisecond) // held by PHP: poll
			continue
		}
		arr, err := v.ToArray()
		if err != nil || len(arr) < 2 {
			return errors.Join(errors.New("ceiling: unexpected script reply"), err)
		}
		b, err := arr[1].AsBytes()
		*cur, *found = b, err == nil
	}
}

var ttlArg = strconv.FormatInt(int64(SessionTTL/time.Second), 10)

// Get implements Target: a plain GET.
func (c *Ceiling) Get(ctx context.Context, id, key string) (int64, error) {
	return getInt(ctx, c.c, StandInCodec{}, id, key)
}

// Close implements Target.
func (c *Ceiling) Close() error {
	c.mu.Lock()
	for id, ch := range c.loop {
		close(ch)
		delete(c.loop, id)
	}
	c.mu.Unlock()
	c.wg.Wait()
	c.c.Close()
	return nil
}
