package coordinator

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/actor"
)

// TestShardShrinks: once a shard's map holds an eighth of its peak it is
// rebuilt at its current size; below minShrink it is left alone.
func TestShardShrinks(t *testing.T) {
	for _, tc := range []struct {
		name         string
		peak, keep   int
		wantRebuilds bool
	}{
		{"burst gone", 4 * minShrink, minShrink / 4, true},
		{"most kept", 4 * minShrink, 2 * minShrink, false},
		{"small shard", minShrink / 2, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &shard{m: map[string]*actor.Handle{}}
			for i := range tc.peak {
				s.put(fmt.Sprint(i), &actor.Handle{})
			}
			require.Equal(t, tc.peak, s.peak)
			for i := tc.keep; i < tc.peak; i++ {
				s.remove(fmt.Sprint(i))
			}
			require.Len(t, s.m, tc.keep)
			for i := range tc.keep {
				require.Contains(t, s.m, fmt.Sprint(i))
			}
			if tc.wantRebuilds {
				require.Less(t, s.peak, tc.peak, "rebuilt")
			} else {
				require.Equal(t, tc.peak, s.peak, "kept")
			}
		})
	}
}
