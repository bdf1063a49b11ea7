package phpsession_test

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// A server that answers but refuses CLIENT TRACKING (here an ACL user
// without the CLIENT command) is a configuration to change, not Redis
// being unavailable: the error was ErrUnavailable ("did not answer as a
// Redis server"), which promises recovery by itself, so a caller's retry
// loop would wait forever. It matches ErrConfig, names the Config option
// that works around it, hides the password, and that option works.
func TestOpenRefusedTrackingIsConfig(t *testing.T) {
	r := testenv.StartRedis(t)
	r.MustDo("ACL", "SETUSER", "notrack", "on", ">s3cretpw", "~*", "+@all", "-client")
	url := "redis://notrack:s3cretpw@" + r.Addr + "/0"
	_, err := phpsession.OpenURL(url, phpsession.Config{})
	require.Error(t, err)
	require.ErrorIs(t, err, phpsession.ErrConfig)
	require.False(t, errors.Is(err, phpsession.ErrUnavailable), "%v", err)
	require.Contains(t, err.Error(), "DisableClientCache")
	require.Contains(t, err.Error(), "NOPERM")
	require.NotContains(t, err.Error(), "s3cretpw")

	m := openTestURL(t, url, phpsession.Config{DisableClientCache: true})
	ctx := context.Background()
	require.NoError(t, m.Set(ctx, "notrack1", "n", 1))
	v, err := phpsession.GetAs[int](ctx, m, "notrack1", "n")
	require.NoError(t, err)
	require.Equal(t, 1, v)
}

// openTestURL opens a Manager on url with cfg, closed when the test ends.
func openTestURL(t *testing.T, url string, cfg phpsession.Config) *phpsession.Manager {
	t.Helper()
	m, err := phpsession.OpenURL(url, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

// An unknown serializer or compression in Config is a configuration error
// like the invalid ID settings beside it (ErrConfig), found before
// anything connects; it matched no kind of this package before.
func TestOpenInvalidFormatIsConfig(t *testing.T) {
	addr := "127.0.0.1:1" // nothing listens: the check comes first
	opt := rueidis.ClientOption{InitAddress: []string{addr}}
	for name, cfg := range map[string]phpsession.Config{
		"serializer":  {Serializer: "bogus"},
		"compression": {Compression: "bogus"},
		"sid_length":  {IDLength: 5},
	} {
		_, err := phpsession.OpenURL("redis://"+addr, cfg)
		require.ErrorIs(t, err, phpsession.ErrConfig, "OpenURL %s", name)
		_, err = phpsession.Open(opt, cfg)
		require.ErrorIs(t, err, phpsession.ErrConfig, "Open %s", name)
	}
}
