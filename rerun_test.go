package phpsession_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

type rerunView struct {
	X int `php:"x"`
	U int `php:"u"`
}

// A read queued behind an update joins its batch. The lock-free commit is
// refused (another client rewrote the session without x while the batch
// ran), so the batch runs again on the new data, where x is gone: the
// read must answer from that run only, not keep what it saw in the
// refused one.
func TestRerunStartsReadsFromNothing(t *testing.T) {
	reads := []struct {
		name string
		read func(ctx context.Context, m *phpsession.Manager) (any, error)
		want func(t *testing.T, v any, err error)
	}{
		{"Get", func(ctx context.Context, m *phpsession.Manager) (any, error) { return m.Get(ctx, "rerun", "x") },
			func(t *testing.T, v any, err error) { require.ErrorIs(t, err, phpsession.ErrNotFound, "got %v", v) }},
		{"GetValue", func(ctx context.Context, m *phpsession.Manager) (any, error) { return m.GetValue(ctx, "rerun", "x") },
			func(t *testing.T, v any, err error) { require.ErrorIs(t, err, phpsession.ErrNotFound, "got %v", v) }},
		{"GetAs", func(ctx context.Context, m *phpsession.Manager) (any, error) {
			return phpsession.GetAs[int](ctx, m, "rerun", "x")
		}, func(t *testing.T, v any, err error) { require.ErrorIs(t, err, phpsession.ErrNotFound, "got %v", v) }},
		{"Load", func(ctx context.Context, m *phpsession.Manager) (any, error) {
			s, err := m.Load(ctx, "rerun")
			if err != nil {
				return nil, err
			}
			return s.Names(), nil
		}, func(t *testing.T, v any, err error) {
			require.NoError(t, err)
			require.ElementsMatch(t, []string{"y", "u"}, v)
		}},
		{"Unmarshal", func(ctx context.Context, m *phpsession.Manager) (any, error) {
			var out rerunView
			err := m.Unmarshal(ctx, "rerun", &out)
			return out, err
		}, func(t *testing.T, v any, err error) {
			require.NoError(t, err)
			require.Equal(t, rerunView{X: 0, U: 1}, v)
		}},
	}
	for _, tc := range reads {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.StartRedis(t)
			m := openTest(t, r, phpsession.Config{NoFastReads: true})
			ctx := context.Background()
			require.NoError(t, m.Set(ctx, "rerun", "x", 1))

			// hold the actor in a first batch while the update and the
			// read queue up behind it: they form the next batch together
			inside, release := make(chan struct{}), make(chan struct{})
			first := make(chan error, 1)
			go func() {
				first <- m.Update(ctx, "rerun", func(s *phpsession.Session) error {
					select {
					case <-inside:
					default:
						close(inside)
					}
					<-release
					return nil
				})
			}()
			<-inside
			base := m.Stats().Submitted
			runs := 0
			upd := make(chan error, 1)
			go func() {
				upd <- m.Update(ctx, "rerun", func(s *phpsession.Session) error {
					runs++
					if runs == 1 {
						// another client replaces the session meanwhile
						r.MustDo("SET", "PHPREDIS_SESSION:rerun", "y|i:5;")
					}
					var u int
					if _, err := s.Unmarshal("u", &u); err != nil {
						return err
					}
					return s.Set("u", u+1)
				})
			}()
			waitSubmitted(t, m, base+1)
			type result struct {
				v   any
				err error
			}
			rd := make(chan result, 1)
			go func() {
				v, err := tc.read(ctx, m)
				rd <- result{v, err}
			}()
			waitSubmitted(t, m, base+2)
			close(release)
			require.NoError(t, <-first)
			require.NoError(t, <-upd)
			require.Equal(t, 2, runs, "the update ran again on the changed session")
			res := <-rd
			tc.want(t, res.v, res.err)
		})
	}
}
