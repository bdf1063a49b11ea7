package redisio_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/phpsession/phpsession/redisio"
	"github.com/redis/rueidis"
)

// The main flow: take the session lock and read (one round trip), change
// the bytes, write them back and release the lock (one round trip).
func Example() {
	s, err := redisio.OpenURL("redis://127.0.0.1:6379", redisio.Config{
		TTL: 1440 * time.Second, // session.gc_maxlifetime
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lock, data, err := s.LockAndRead(ctx, "q3kd6n1bohf7m0s1ad0cfk1ls6")
	if errors.Is(err, redisio.ErrLockTimeout) {
		log.Printf("session busy: %v", err) // names the holder's token
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	updated := append(data.Bytes, `seen|b:1;`...) // bytes in PHP's session format
	if _, err := s.Commit(ctx, lock, redisio.WriteData, updated); errors.Is(err, redisio.ErrLockLost) {
		log.Print("lock expired before the write: nothing was written")
	} else if err != nil {
		log.Fatal(err)
	}
}

// Unchanged data: refresh the TTL only, as PHP's lazy_write does.
func ExampleStore_Commit_touch() {
	s, err := redisio.OpenURL("redis://127.0.0.1:6379", redisio.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	lock, _, err := s.LockAndRead(ctx, "q3kd6n1bohf7m0s1ad0cfk1ls6")
	if err != nil {
		log.Fatal(err)
	}
	res, err := s.Commit(ctx, lock, redisio.WriteTouch, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("session existed:", res.Existed)
}

// Cached reads without a lock, and invalidation notices for a memo kept by
// the caller.
func ExampleStore_Get() {
	s, err := redisio.OpenURL("redis://127.0.0.1:6379", redisio.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	changed := make(chan []string, 64)
	cancel := s.OnInvalidate(func(ids []string) {
		select { // never block rueidis's reader
		case changed <- ids:
		default:
		}
	})
	defer cancel()
	d, err := s.Get(context.Background(), "q3kd6n1bohf7m0s1ad0cfk1ls6") // a hit costs no round trip
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("found=%v %d bytes\n", d.Found, len(d.Bytes))
}

// Open takes a rueidis.ClientOption for Sentinel, Cluster, TLS and so on.
func ExampleOpen() {
	s, err := redisio.Open(rueidis.ClientOption{
		InitAddress: []string{"127.0.0.1:26379"},
		Sentinel:    rueidis.SentinelOption{MasterSet: "mymaster"},
	}, redisio.Config{Prefix: "PHPREDIS_SESSION:"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println(s.Key("abc"), s.LockKey("abc"))
}

// Without waiting: report who holds the lock.
func ExampleStore_TryLockAndRead() {
	s, err := redisio.OpenURL("redis://127.0.0.1:6379", redisio.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	lock, _, err := s.TryLockAndRead(ctx, "q3kd6n1bohf7m0s1ad0cfk1ls6")
	var held *redisio.HolderError
	if errors.As(err, &held) {
		fmt.Println("held by", held.Holder)
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	defer s.Release(ctx, lock)
}

// A lock-free read-modify-write: read (cached), compute, and write only if
// nobody holds the lock and the session still holds what was read — one
// round trip, and PHP never waits for it. Held: wait for the release and
// try again; Changed: recompute from the current bytes.
func ExampleStore_WriteIfUnlocked() {
	s, err := redisio.OpenURL("redis://127.0.0.1:6379", redisio.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	const id = "q3kd6n1bohf7m0s1ad0cfk1ls6"

	data, err := s.Get(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	for {
		updated := append(append([]byte(nil), data.Bytes...), `seen|b:1;`...)
		res, err := s.WriteIfUnlocked(ctx, id, data, redisio.WriteData, updated)
		switch {
		case err != nil:
			log.Fatal(err) // ErrCrossSlot on a Cluster whose slots split the keys
		case res.Applied:
			return
		case res.Held:
			if err := s.WaitUnlocked(ctx, id); err != nil {
				log.Fatal(err) // ErrLockTimeout names the holder
			}
		case res.Changed:
			data = res.Current
		}
	}
}
