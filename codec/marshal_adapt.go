package codec

// Adapters between the Go-native mapping / JSON rendering and the value
// model's internals.

// serializableInner returns the decoded values of a Serializable payload
// (set when PHP numbered values inside it, see Serializable).
func serializableInner(x *Serializable) (Value, bool) {
	if x.decodedPayload() {
		return x.inner, true
	}
	return nil, false
}

// setSerializableInner attaches the decoded values of x's payload, so that
// the encoder registers the objects inside it (outer r:/R: may point at
// them) as it does for a decoded payload.
func setSerializableInner(x *Serializable, v Value) {
	x.inner, x.innerOf, x.refsInside = v, x.Payload, payloadHasRefs(string(x.Payload))
}
