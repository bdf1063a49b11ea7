package testenv

import (
	"testing"
	"time"
)

// HangGuard is how long a test waits for a call that must return before it
// reports a hang: far beyond any bound under test, so only a hang reaches
// it, however loaded the machine.
const HangGuard = 60 * time.Second

// ReturnsWithin runs call and returns its error, failing the test if it has
// not returned within HangGuard (a hang, not a slow machine).
func ReturnsWithin(t testing.TB, what string, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(HangGuard):
		t.Fatalf("%s: no return after %v: hung", what, HangGuard)
		return nil
	}
}
