package main

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/phpsession/phpsession/internal/testenv"
)

// The demo runs end to end (and with php on PATH, its PHP part too).
func TestDemoRedisServer(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := run(ctx, r.URL(), r.Addr, true, "127.0.0.1:0", false); err != nil {
		t.Fatal(err)
	}
}

func TestDemoMiniredis(t *testing.T) {
	mr := miniredis.RunT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := run(ctx, "redis://"+mr.Addr(), mr.Addr(), false, "127.0.0.1:0", false); err != nil {
		t.Fatal(err)
	}
}
