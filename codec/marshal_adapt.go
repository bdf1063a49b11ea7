package codec

// Adapters between the Go-native mapping and the value model.

func deref(v Value) Value { return Deref(v) }
