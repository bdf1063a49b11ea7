package redisio

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

// A write Redis keeps refusing with a retryable reply (READONLY here; the
// same path serves TRYAGAIN while a cluster slot migrates, and LOADING,
// MASTERDOWN, CLUSTERDOWN) fails after the retries with an error wrapping
// ErrUnavailable, never ErrOutcomeUnknown: the command was not applied.
// The retries are finite without timing them: they pause at least
// minBusyPause each within ReconcileTimeout, so at most
// ReconcileTimeout/minBusyPause attempts follow the first, each of at most
// two round trips (EVALSHA, and EVAL if Redis lacks the script), each
// under a deadline at most Timeout away.
func TestRefusedWriteIsUnavailable(t *testing.T) {
	master := testenv.StartRedis(t)
	replica := testenv.StartReplica(t, master)
	const timeout, reconcile = 200 * time.Millisecond, 200 * time.Millisecond
	s := openTest(t, replica, Config{Timeout: timeout, ReconcileTimeout: reconcile})
	rt := recordRoundTrips(s)
	ctx := rt.call(context.Background(), "write")
	err := testenv.ReturnsWithin(t, "refused write", func() error {
		_, err := s.WriteIfUnlocked(ctx, "ro", Data{}, WriteData, []byte("a|i:1;"))
		return err
	})
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("write on a replica: %v, want ErrUnavailable (not applied)", err)
	}
	trips := rt.take("write")
	t.Logf("%v after %d round trips (%d busy retries)", err, len(trips), s.Stats().BusyRetries)
	if most := 2 * (1 + int(reconcile/minBusyPause)); len(trips) > most {
		t.Fatalf("%d round trips for a refused write, want at most %d", len(trips), most)
	}
	for _, left := range trips {
		if left < 0 || left > timeout {
			t.Fatalf("a round trip sent with its deadline %v away (negative: none), want at most Timeout %v", left, timeout)
		}
	}
	if v := master.MustDo("EXISTS", s.Key("ro")); v != "0" {
		t.Fatalf("written after all")
	}
}
