// Package phpsession lets Go servers share PHP sessions stored in Redis by
// PHP's phpredis session handler: the same keys, the same lock and the same
// serialized bytes.
//
// Each active session ID gets one in-process actor that queues all reads and
// writes for that session and applies the writes in batches: by default one
// atomic check-and-write script per batch that writes only while nobody holds
// the phpredis lock and the data is unchanged (to PHP, a lock held for an
// instant), else under the phpredis lock, taken once per batch. Reads are
// served from a decoded copy kept fresh by Redis client tracking. Writes go
// back in PHP's format.
//
// The architecture, the data flow of a batch and the invariants are in
// docs/design.md; costs and tuning in docs/coordinator.md.
package phpsession
