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
func TestRefusedWriteIsUnavailable(t *testing.T) {
	master := testenv.StartRedis(t)
	replica := testenv.StartReplica(t, master)
	s := openTest(t, replica, Config{Timeout: 200 * time.Millisecond, ReconcileTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	start := time.Now()
	_, err := s.WriteIfUnlocked(ctx, "ro", Data{}, WriteData, []byte("a|i:1;"))
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("write on a replica: %v, want ErrUnavailable (not applied)", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("refused write took %v", d)
	}
	if v := master.MustDo("EXISTS", s.Key("ro")); v != "0" {
		t.Fatalf("written after all")
	}
}
