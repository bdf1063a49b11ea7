package codec

// Adapters between the Go-native mapping and the value model.

func deref(v Value) Value { return Deref(v) }

// objectRange calls yield with the plain property name of each member.
func objectRange(o *Object, yield func(name string, v Value) bool) {
	o.Range(func(m Member, v Value) bool { return yield(m.Name, v) })
}

func objectLen(o *Object) int { return o.Len() }
