package phpsession_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// BenchmarkGetCached: a hot unlocked read (memo hit: no round trip, no
// decode) of one variable.
func BenchmarkGetCached(b *testing.B) {
	r := testenv.StartRedis(b)
	m := openTest(b, r, phpsession.Config{})
	ctx := context.Background()
	r.MustDo("SET", "PHPREDIS_SESSION:hot", `user|s:5:"alice";n|i:42;cart|a:2:{i:0;s:1:"a";i:1;s:1:"b";}`)
	if _, err := phpsession.GetAs[int](ctx, m, "hot", "n"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := phpsession.GetAs[int](ctx, m, "hot", "n"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkUpdateHot: concurrent read-modify-write increments of one
// session (b.SetParallelism × GOMAXPROCS writers).
func BenchmarkUpdateHot(b *testing.B) {
	for _, par := range []int{1, 32} {
		b.Run(fmt.Sprintf("writers=%dxP", par), func(b *testing.B) {
			r := testenv.StartRedis(b)
			m := openTest(b, r, phpsession.Config{})
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					err := m.Update(ctx, "hot", func(s *phpsession.Session) error {
						var n int
						_, _ = s.Unmarshal("n", &n)
						return s.Set("n", n+1)
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			st := m.Stats()
			b.ReportMetric(st.OpsPerBatch(), "ops/batch")
			b.ReportMetric(float64(st.FairnessGaps)/float64(st.Batches), "gaps/batch")
			b.ReportMetric(float64(st.LockWaits)/float64(st.Batches), "waits/batch")
		})
	}
}

// BenchmarkUpdateSpread: 64 writers over 10,000 sessions.
func BenchmarkUpdateSpread(b *testing.B) {
	r := testenv.StartRedis(b)
	m := openTest(b, r, phpsession.Config{})
	ctx := context.Background()
	var ctr atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("s%d", ctr.Add(1)%10000)
			if err := m.Set(ctx, id, "n", 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkWriteRedisCPU measures what the library costs Redis per write
// of a long session: the Redis main-thread CPU (INFO cpu,
// used_cpu_{user,sys}_main_thread deltas) of one Manager.Update that
// changes one small variable of a session of 1 KiB, 100 KiB or 20 MiB
// (whatever path the library takes: lock-free check-and-write, or the
// tracked commit under the lock for long sessions), against one SETEX of
// the same bytes, in interleaved rounds. ×SETEX is the ratio; the target
// is ≤ 2. cmds/write counts the commands Redis ran per Update (INFO
// commandstats, including those inside scripts).
//
// The SETEXes of a round run back to back, while Updates reach Redis one
// per Update's client time: a server woken from idle for each command
// pays more per command (cold caches, the wake-up itself), by how much
// depends on the machine's load. ×SETEX-paced therefore also compares
// with a SETEX of the same bytes sent to a second server right after each
// Update, so that both servers see one command per Update.
func BenchmarkWriteRedisCPU(b *testing.B) {
	r := testenv.StartRedis(b)
	twin := testenv.StartRedis(b)
	rawTwin := testenv.MustDial(b, twin.Addr)
	m := openTest(b, r, phpsession.Config{})
	ctx := context.Background()
	raw := testenv.MustDial(b, r.Addr)
	cpuOf := func(c *testenv.Conn) float64 {
		info, err := c.Do("INFO", "cpu")
		if err != nil {
			b.Fatal(err)
		}
		return testenv.MainThreadCPU(info)
	}
	cpu := func() float64 { return cpuOf(raw) }
	for _, size := range []int{1 << 10, 100 << 10, 20 << 20} {
		name := strconv.Itoa(size>>10) + "KiB"
		if size >= 1<<20 {
			name = strconv.Itoa(size>>20) + "MiB"
		}
		b.Run(name, func(b *testing.B) {
			id := "cpu" + name
			k := "PHPREDIS_SESSION:" + id
			blob := make([]byte, size)
			for i := range blob {
				blob[i] = byte('a' + i*7919%26)
			}
			r.MustDo("SETEX", k, "86400", fmt.Sprintf("blob|s:%d:\"%s\";n|i:100000;", size, blob))
			update := func() {
				err := m.Update(ctx, id, func(s *phpsession.Session) error {
					var n int
					_, _ = s.Unmarshal("n", &n)
					return s.Set("n", n+1)
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			for range 3 { // first read, then the steady state
				update()
			}
			var lib, set, paced float64
			var cmds int64
			n := 0
			b.ResetTimer()
			for done := 0; done < b.N; {
				chunk := max(1, min(b.N-done, 64))
				cur, err := raw.Do("GET", k)
				if err != nil {
					b.Fatal(err)
				}
				c0, _ := testenv.CommandCalls(r.Addr)
				t0, p0 := cpu(), cpuOf(rawTwin)
				for range chunk {
					update()
					if _, err := rawTwin.Do("SETEX", k, "86400", cur); err != nil {
						b.Fatal(err)
					}
				}
				t1, p1 := cpu(), cpuOf(rawTwin)
				c1, _ := testenv.CommandCalls(r.Addr)
				for range chunk {
					// another key: the session's memo entry stays tracked
					if _, err := raw.Do("SETEX", k+":setex", "86400", cur); err != nil {
						b.Fatal(err)
					}
				}
				t2 := cpu()
				for c, v := range c1 {
					if c != "info" {
						cmds += v - c0[c]
					}
				}
				lib += t1 - t0
				set += t2 - t1
				paced += p1 - p0
				done += chunk
				n += chunk
			}
			b.StopTimer()
			b.ReportMetric(lib/float64(n)*1e6, "redis-µs/write")
			b.ReportMetric(set/float64(n)*1e6, "redis-µs/SETEX")
			b.ReportMetric(lib/set, "×SETEX")
			b.ReportMetric(paced/float64(n)*1e6, "redis-µs/SETEX-paced")
			b.ReportMetric(lib/paced, "×SETEX-paced")
			b.ReportMetric(float64(cmds)/float64(n), "cmds/write")
		})
	}
}
