package bench

import (
	"fmt"

	"github.com/phpsession/phpsession/codec"
)

// ProjectCodec runs the baselines' decode/modify/encode step with the
// project's own codec (php handler, lazy per-key decoding), so that B1 and
// B3 differ from the coordinator only in how they talk to Redis.
type ProjectCodec struct{}

// projectFormat is how the baselines store sessions: php, uncompressed.
var projectFormat = codec.Format{Handler: codec.PHP}

// Name implements SessionCodec.
func (ProjectCodec) Name() string { return "phpsession/codec" }

// Incr implements SessionCodec.
func (ProjectCodec) Incr(blob []byte, key string) ([]byte, error) {
	s, err := projectFormat.Decode(blob, nil)
	if err != nil {
		return nil, err
	}
	n, err := intOf(s, key)
	if err != nil {
		return nil, err
	}
	if err := s.Set(key, codec.Int(n+1)); err != nil {
		return nil, err
	}
	return projectFormat.AppendEncode(make([]byte, 0, len(blob)+16), s)
}

// Int implements SessionCodec.
func (ProjectCodec) Int(blob []byte, key string) (int64, error) {
	s, err := projectFormat.Decode(blob, nil)
	if err != nil {
		return 0, err
	}
	return intOf(s, key)
}

func intOf(s *codec.Session, key string) (int64, error) {
	v, ok, err := s.Get(key)
	if err != nil || !ok {
		return 0, err
	}
	i, ok := v.(codec.Int)
	if !ok {
		return 0, fmt.Errorf("bench: %s is %T, not an int", key, v)
	}
	return int64(i), nil
}

// DefaultCodec returns the codec the B1 and B3 baselines use: the
// project's codec.
func DefaultCodec() SessionCodec { return ProjectCodec{} }
