package phpsession_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// BenchmarkGetCached: a hot unlocked read (memo hit: no round trip, no
// decode) of one variable.
func BenchmarkGetCached(b *testing.B) {
	r := testenv.StartRedis(b)
	m, err := phpsession.OpenURL(r.URL(), phpsession.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close(context.Background())
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
			m, err := phpsession.OpenURL(r.URL(), phpsession.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close(context.Background())
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
	m, err := phpsession.OpenURL(r.URL(), phpsession.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close(context.Background())
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
