package bench

// DefaultCodec returns the codec the B1 and B3 baselines use.
func DefaultCodec() SessionCodec { return StandInCodec{} }
