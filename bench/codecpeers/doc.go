// Package codecpeers benchmarks phpsession/codec against the Go PHP
// serialize libraries (stlong5, trim21, yvasiyarov), on the same PHP-written session
// bytes (testdata/session_*.bin, produced by testdata/gen_fixture.php).
//
// It is a separate module so that the library itself never depends on the
// peers. Run from this directory:
//
//	go test -run '^$' -bench . -benchmem -count 3
package codecpeers
