// Package faults holds the fault suite: tests that run many concurrent
// writers and readers through a phpsession.Manager on a few hot sessions
// while real redis-server processes are disrupted (connection kills,
// CLIENT PAUSE, SIGSTOP, restarts, expiry, FLUSHALL, DEBUG RELOAD, SWAPDB,
// Sentinel and Cluster failover, Cluster slot migration), and check the
// library's guarantees afterwards: nothing acknowledged lost or applied
// twice, no stale read, bounded calls with typed errors, recovery without
// restart, nothing left behind. The package has no API; see its tests.
package faults
