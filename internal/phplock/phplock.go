// Package phplock tells who held a session's lock right after a PHP
// request failed to get it: another PHP request, a phpsession (Go) holder,
// or nobody. The bench's PHP workers and the root package's interop tests
// share it, so both draw the line between Go and PHP holders the same way.
//
// The probe runs in PHP, inside the request's error handler, on a second
// connection: it GETs the lock key right after phpredis gave up, so the
// holder it sees is the one that kept the lock through the last attempt
// (or none, when that holder released it in between).
package phplock

// Holder classes, as ProbePHP returns them.
const (
	// Go is a lock value holding redisio's token mark "|go"
	// ("<host>|<pid>|go<n>:<random>", see redisio's package doc).
	Go = "go"
	// PHP is any other lock value: phpredis's secret ("<host>|<pid>").
	PHP = "php"
	// None is a missing lock key: released before the probe's GET.
	None = "none"
)

// ProbePHP is PHP source (no "<?php" tag) defining
// phpsess_lock_holder(Redis $probe, string $lockKey): string, which GETs
// $lockKey on $probe and returns Go, PHP or None.
const ProbePHP = `
function phpsess_lock_holder($probe, $lockKey) {
    $h = $probe->get($lockKey);
    if ($h === false) { return '` + None + `'; }
    return strpos($h, '|go') !== false ? '` + Go + `' : '` + PHP + `';
}
`
