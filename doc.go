// Package phpsession lets Go servers share PHP sessions stored in Redis by
// PHP's phpredis session handler: the same keys, the same lock and the same
// serialized bytes.
//
// Each active session ID gets one in-process actor that queues all reads and
// writes for that session, holds the Redis lock for the length of a batch,
// serves reads from a client-side-cached copy that Redis invalidates through
// client tracking, and flushes back in PHP's format.
package phpsession
