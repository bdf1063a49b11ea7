package redisio

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/redis/rueidis"
)

// BenchmarkWakeAfterForeignRelease measures how soon a Go waiter holds the
// lock after a foreign holder (a raw phpredis-style connection) released it
// with PHP's release script. The reported wake-p50-µs / wake-p99-µs include
// the release round trip, the invalidation push, and our SET NX + GET.
// PHP's own waiting polls every lock_wait_time (2 ms in phpredis 5.3, 20 ms
// in 6.x).
func BenchmarkWakeAfterForeignRelease(b *testing.B) {
	r := testenv.StartRedis(b)
	s := openTest(b, r, Config{})
	php := testenv.MustDial(b, r.Addr)
	parked := make(chan struct{}, 1)
	s.waitHook = func(string, string) {
		select {
		case parked <- struct{}{}:
		default:
		}
	}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := "wake" + strconv.Itoa(i)
		lk := s.LockKey(id)
		if _, err := php.Do("SET", lk, "vm|1", "NX"); err != nil {
			b.Fatal(err)
		}
		got := make(chan time.Time, 1)
		go func() {
			l, _, err := s.LockAndRead(ctx, id)
			t := time.Now()
			if err != nil {
				b.Error(err)
			} else {
				if l.Waited <= 0 {
					b.Error("Lock.Waited not set after a wait")
				}
				_ = s.Release(ctx, l)
			}
			got <- t
		}()
		<-parked
		t0 := time.Now()
		if _, err := php.Do("EVAL", ReleaseScript, "1", lk, "vm|1"); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, (<-got).Sub(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "wake-p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "wake-p99-µs")
}

// BenchmarkCycle is one uncontended LockAndRead + Commit(WriteData) cycle;
// rt/op is the number of client round trips (writes to the connection).
func BenchmarkCycle(b *testing.B) {
	r := testenv.StartRedis(b)
	for _, split := range []bool{false, true} {
		name := "standalone"
		if split {
			name = "split-keys"
		}
		b.Run(name, func(b *testing.B) {
			s, writes := openCounting(b, r.Addr, Config{SplitKeys: split})
			ctx := context.Background()
			data := []byte(`user|s:3:"ann";n|i:7;cart|a:0:{}`)
			if err := incr(ctx, s, "warm"); err != nil {
				b.Fatal(err)
			}
			before, _ := testenv.CommandCalls(r.Addr)
			w0 := writes.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				l, _, err := s.LockAndRead(ctx, "bench")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Commit(ctx, l, WriteData, data); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(writes.Load()-w0)/float64(b.N), "rt/op")
			after, _ := testenv.CommandCalls(r.Addr)
			var cmds int64
			for k, v := range after {
				if k != "info" {
					cmds += v - before[k]
				}
			}
			// commandstats also counts the commands run inside scripts.
			b.ReportMetric(float64(cmds)/float64(b.N), "redis-cmds/op")
		})
	}
}

// BenchmarkGet compares a client-side cache hit (Open) with a network GET
// (NewStore).
func BenchmarkGet(b *testing.B) {
	r := testenv.StartRedis(b)
	cached := openTest(b, r, Config{})
	r.MustDo("SET", cached.Key("g"), string(make([]byte, 1024)))
	ctx := context.Background()
	b.Run("cached-hit", func(b *testing.B) {
		if _, err := cached.Get(ctx, "g"); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := cached.Get(ctx, "g"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("network", func(b *testing.B) {
		c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{r.Addr}})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		plain, _ := NewStore(c, Config{})
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := plain.Get(ctx, "g"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLockFreeWriteRedisCPU compares the Redis main-thread CPU
// (INFO cpu, used_cpu_*_main_thread: reading the command, running it,
// replying) of one lock-free write (WriteIfUnlocked, WriteData, expected =
// the stored value) with that of a plain SETEX of the same value, for 1
// KiB, 100 KiB and 20 MiB sessions, in interleaved rounds. ×SETEX is the
// ratio; the target is ≤ 2. A Manager writes sessions over TrackedOver with
// the tracked commit instead (LockWatched + CommitTracked), measured per
// Update by BenchmarkWriteRedisCPU in the root package.
func BenchmarkLockFreeWriteRedisCPU(b *testing.B) {
	r := testenv.StartRedis(b)
	s := openTest(b, r, Config{TTL: 1000 * time.Second})
	c := s.Client()
	ctx := context.Background()
	for _, size := range []int{1 << 10, 100 << 10, 20 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			// Two values of one length that differ in one byte in the
			// middle: a full comparison is needed to tell them apart.
			va := make([]byte, size)
			for i := range va {
				va[i] = byte('a' + i*7919%26)
			}
			vb := append([]byte(nil), va...)
			vb[size/2] = '#'
			vals := [2][]byte{va, vb}
			id := "cpu" + sizeName(size)
			k := s.Key(id)
			var cas, set float64
			n := 0
			b.ResetTimer()
			for done := 0; done < b.N; {
				chunk := max(1, min(b.N-done, 256))
				if err := c.Do(ctx, c.B().Set().Key(k).Value(rueidis.BinaryString(va)).Build()).Error(); err != nil {
					b.Fatal(err)
				}
				t0 := redisMainCPU(b, c)
				for i := range chunk {
					res, err := s.WriteIfUnlocked(ctx, id, Data{Bytes: vals[i%2], Found: true}, WriteData, vals[(i+1)%2])
					if err != nil || !res.Applied {
						b.Fatalf("%+v %v", res, err)
					}
				}
				t1 := redisMainCPU(b, c)
				for i := range chunk {
					if err := c.Do(ctx, c.B().Setex().Key(k).Seconds(1000).Value(rueidis.BinaryString(vals[(i+1)%2])).Build()).Error(); err != nil {
						b.Fatal(err)
					}
				}
				t2 := redisMainCPU(b, c)
				cas += t1 - t0
				set += t2 - t1
				done += chunk
				n += chunk
			}
			b.StopTimer()
			b.ReportMetric(cas/float64(n)*1e6, "redis-µs/write")
			b.ReportMetric(set/float64(n)*1e6, "redis-µs/SETEX")
			b.ReportMetric(cas/set, "×SETEX")
		})
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.Itoa(n>>20) + "MiB"
	case n >= 1<<10:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

// redisMainCPU returns the seconds of CPU Redis's main thread has used.
func redisMainCPU(b *testing.B, c rueidis.Client) float64 {
	info, err := c.Do(context.Background(), c.B().Info().Section("cpu").Build()).ToString()
	if err != nil {
		b.Fatal(err)
	}
	return testenv.MainThreadCPU(info)
}

// casTableScript is casInlineScript with the table replies it had before
// it answered with scalars, kept here to measure what a table reply costs
// Redis.
const casTableScript = `local m = ARGV[1]
if m ~= "n" and redis.call("exists",KEYS[1]) == 1 then return {-1} end
local cur = redis.call("get",KEYS[2])
if ARGV[2] == "0" then
  if cur then return {0,cur} end
elseif not cur then return {0}
elseif cur ~= ARGV[3] then return {0,cur} end
if m == "w" then redis.call("setex",KEYS[2],ARGV[4],ARGV[5])
elseif m == "t" then return {1,redis.call("expire",KEYS[2],ARGV[4])}
elseif m == "d" then return {1,redis.call("del",KEYS[2])}
end
return {1,1}`

// BenchmarkCASVariantsRedisCPU measures, for a 1 KiB session, what Redis's
// main thread spends (INFO cpu deltas) per lock-free write done in
// different ways, each against a SETEX of the same value in interleaved
// chunks on the same connection: the check-and-write script as shipped,
// the same with table replies, the same run as a Redis Function (FCALL),
// a script with the same arguments that skips the comparison (what the
// comparison costs), an empty script with the same arguments (the fixed
// cost of EVALSHA and of its arguments entering Lua) and an optimistic
// transaction without Lua (WATCH lock and data, EXISTS, GET, compare in
// the client, MULTI SETEX EXEC: two round trips). PROFILE.md §14 has the
// numbers and the instruction counts (callgrind) of the same variants;
// for those, PHPSESSION_BENCH_REDIS_URL points the benchmark at a server
// started under valgrind instead of its own. The setex variant (SETEX
// against SETEX) calibrates.
func BenchmarkCASVariantsRedisCPU(b *testing.B) {
	url := os.Getenv("PHPSESSION_BENCH_REDIS_URL")
	if url == "" {
		url = testenv.StartRedis(b).URL()
	}
	s := openURL(b, url, Config{TTL: 1000 * time.Second})
	c := s.Client()
	ctx := context.Background()
	const size = 1 << 10
	va := make([]byte, size)
	for i := range va {
		va[i] = byte('a' + i*7919%26)
	}
	vb := append([]byte(nil), va...)
	vb[size/2] = '#'
	vals := [2]string{string(va), string(vb)}
	lk, k, ttl := s.LockKey("v"), s.Key("v"), "1000"
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	script := func(body string) func(exp, data string) {
		sha := sha1hex(body)
		must(c.Do(ctx, c.B().ScriptLoad().Script(body).Build()).Error())
		return func(exp, data string) {
			must(c.Do(ctx, c.B().Evalsha().Sha1(sha).Numkeys(2).Key(lk, k).Arg("w", "b", exp, ttl, data).Build()).Error())
		}
	}
	lib := "#!lua name=phpsessionbench\nredis.register_function('phpsession_cas', function(KEYS, ARGV)\n" + casInlineScript + "\nend)"
	must(c.Do(ctx, c.B().FunctionLoad().Replace().FunctionCode(lib).Build()).Error())
	for _, v := range []struct {
		name  string
		write func(exp, data string)
	}{
		{"setex", func(_, data string) {
			must(c.Do(ctx, c.B().Setex().Key(k).Seconds(1000).Value(data).Build()).Error())
		}},
		{"script", script(casInlineScript)},
		{"table-reply", script(casTableScript)},
		{"fcall", func(exp, data string) {
			must(c.Do(ctx, c.B().Fcall().Function("phpsession_cas").Numkeys(2).Key(lk, k).Arg("w", "b", exp, ttl, data).Build()).Error())
		}},
		{"no-compare", script(`if redis.call("exists",KEYS[1]) == 1 then return -1 end
redis.call("setex",KEYS[2],ARGV[4],ARGV[5]) return 1`)},
		{"empty-script", script(`return 1`)},
		{"watch-multi", func(exp, data string) {
			must(c.Dedicated(func(d rueidis.DedicatedClient) error {
				rs := d.DoMulti(ctx, d.B().Watch().Key(lk, k).Build(), d.B().Exists().Key(lk).Build(), d.B().Get().Key(k).Build())
				held, err := rs[1].AsInt64()
				if err != nil {
					return err
				}
				cur, err := rs[2].ToString()
				if err != nil || held != 0 || cur != exp {
					return fmt.Errorf("watch: %v held=%d equal=%v", err, held, cur == exp)
				}
				rs = d.DoMulti(ctx, d.B().Multi().Build(), d.B().Setex().Key(k).Seconds(1000).Value(data).Build(), d.B().Exec().Build())
				if arr, err := rs[2].ToArray(); err != nil || len(arr) != 1 {
					return fmt.Errorf("exec: %v", err)
				}
				return nil
			}))
		}},
	} {
		b.Run(v.name, func(b *testing.B) {
			must(c.Do(ctx, c.B().Set().Key(k).Value(vals[0]).Build()).Error())
			var w, set float64
			cur := 0
			for done := 0; done < b.N; {
				chunk := max(1, min(b.N-done, 256))
				t0 := redisMainCPU(b, c)
				for range chunk {
					v.write(vals[cur], vals[1-cur])
					cur = 1 - cur
				}
				t1 := redisMainCPU(b, c)
				for range chunk {
					must(c.Do(ctx, c.B().Setex().Key(k).Seconds(1000).Value(vals[1-cur]).Build()).Error())
					cur = 1 - cur
				}
				t2 := redisMainCPU(b, c)
				w += t1 - t0
				set += t2 - t1
				done += chunk
			}
			b.ReportMetric(w/float64(b.N)*1e6, "redis-µs/write")
			b.ReportMetric(set/float64(b.N)*1e6, "redis-µs/SETEX")
			b.ReportMetric(w/set, "×SETEX")
		})
	}
}
