package redisio

import (
	"context"
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
