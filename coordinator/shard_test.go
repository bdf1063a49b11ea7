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

// TestShardHotHandle: the shard's hot handle is the last one indexed or
// looked up, and it is cleared when its session leaves the index, so a
// passivated session's actor is not kept alive by it.
func TestShardHotHandle(t *testing.T) {
	a, b := &actor.Handle{ID: "a"}, &actor.Handle{ID: "b"}
	for _, tc := range []struct {
		name    string
		put     []*actor.Handle
		remove  []string
		wantHot *actor.Handle
	}{
		{"last put", []*actor.Handle{a, b}, nil, b},
		{"its session removed", []*actor.Handle{a, b}, []string{"b"}, nil},
		{"another session removed", []*actor.Handle{a, b}, []string{"a"}, b},
		{"all removed", []*actor.Handle{a, b}, []string{"a", "b"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &shard{m: map[string]*actor.Handle{}}
			for _, h := range tc.put {
				s.put(h.ID, h)
			}
			for _, id := range tc.remove {
				s.remove(id)
			}
			require.Same(t, tc.wantHot, s.hot.Load())
		})
	}
}
