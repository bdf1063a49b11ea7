package redisio

import (
	"context"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
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
